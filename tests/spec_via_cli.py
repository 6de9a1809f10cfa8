#!/usr/bin/env python3
"""Runs the official mustache spec through the `kit template` CLI, case by case.

Each case becomes a directory: template.mustache, data.json and one
NAME.mustache per partial; kit renders it with --escape html --lenient and
the output must equal the expected text byte for byte. The lambdas module is
skipped here (lambdas are Rust closures, which a data file cannot hold; the
library's conformance test covers them).

Usage: python3 tests/spec_via_cli.py PATH/TO/kit SPEC_DIR
Prints per-file counts and 'N passed, N failed'; exits non-zero on failure.
"""
import json
import os
import subprocess
import sys
import tempfile


def main():
    kit, spec_dir = os.path.abspath(sys.argv[1]), sys.argv[2]
    passed = failed = 0
    for fname in sorted(os.listdir(spec_dir)):
        if not fname.endswith(".json") or "lambdas" in fname:
            continue
        with open(os.path.join(spec_dir, fname), encoding="utf-8") as f:
            tests = json.load(f)["tests"]
        ok = 0
        for t in tests:
            with tempfile.TemporaryDirectory() as d:
                with open(os.path.join(d, "template.mustache"), "w", encoding="utf-8", newline="") as f:
                    f.write(t["template"])
                with open(os.path.join(d, "data.json"), "w", encoding="utf-8") as f:
                    json.dump(t["data"], f)
                for name, text in t.get("partials", {}).items():
                    with open(os.path.join(d, name + ".mustache"), "w", encoding="utf-8", newline="") as f:
                        f.write(text)
                r = subprocess.run([kit, "template", "template.mustache", "--data", "data.json",
                                    "--escape", "html", "--lenient"], cwd=d, capture_output=True)
                out = r.stdout.decode("utf-8")
                if r.returncode == 0 and out == t["expected"]:
                    ok += 1
                else:
                    print(f"FAIL {fname} / {t['name']}: exit {r.returncode}, got {out!r}, "
                          f"expected {t['expected']!r}, stderr {r.stderr.decode()!r}")
        print(f"{fname:<24} {ok}/{len(tests)} passed (via kit template)")
        passed += ok
        failed += len(tests) - ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
