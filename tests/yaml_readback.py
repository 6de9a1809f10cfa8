#!/usr/bin/env python3
"""YAML 1.1 read-back of kit's escaping, through the real `kit template` CLI.

For every hostile value (fixtures/yaml-safety/hostile-values.json) at every
YAML position (fixtures/yaml-safety/positions.json), runs
`kit template --escape yaml` and reads the output back with PyYAML's
SafeLoader, a YAML 1.1 reader independent of kit. Each case must either read
back as exactly the expected string, or fail with exit code 3, a message on
stderr, and nothing on stdout. Any silent change fails the run.

Usage: python3 tests/yaml_readback.py PATH/TO/kit
Prints 'N passed, N failed' and exits non-zero on any failure.
"""
import json
import os
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(name):
    with open(os.path.join(ROOT, "fixtures", "yaml-safety", name), encoding="utf-8") as f:
        return json.load(f)


def lookup(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def main():
    kit = os.path.abspath(sys.argv[1])
    values, positions = load("hostile-values.json"), load("positions.json")
    passed = failed = refused = 0
    with tempfile.TemporaryDirectory() as tmp:
        data_path = os.path.join(tmp, "data.json")
        for pos in positions:
            tpl_path = os.path.join(tmp, "t.yaml")
            with open(tpl_path, "w", encoding="utf-8") as f:
                f.write(pos["template"])
            for v in values:
                with open(data_path, "w", encoding="utf-8") as f:
                    json.dump({"v": v}, f)
                r = subprocess.run([kit, "template", tpl_path, "--data", data_path],
                                   capture_output=True)
                case = f"{pos['name']}: {v!r}"
                if r.returncode != 0:
                    if r.returncode == 3 and r.stdout == b"" and b"error:" in r.stderr:
                        passed += 1
                        refused += 1
                    else:
                        failed += 1
                        print(f"FAIL {case}: exit {r.returncode}, stdout {r.stdout!r}")
                    continue
                out = r.stdout.decode("utf-8")
                expected = pos.get("fixed", pos.get("prefix", "") + v + pos.get("suffix", ""))
                try:
                    doc = yaml.safe_load(out)
                    got = next(iter(doc)) if pos.get("key") else lookup(doc, pos["path"])
                except Exception as e:  # noqa: BLE001 - any failure to read back is a failure
                    got = f"<unreadable: {e}>"
                if isinstance(got, str) and got == expected:
                    passed += 1
                else:
                    failed += 1
                    print(f"FAIL {case}: rendered {out!r}, read back {got!r}")
    print(f"yaml 1.1 read-back: {len(values)} values x {len(positions)} positions, "
          f"{refused} refused with a clear error")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
