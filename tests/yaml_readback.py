#!/usr/bin/env python3
"""Read-back of kit's escaping by three independent YAML readers, through the
real `kit template` CLI.

For every hostile value (fixtures/yaml-safety/hostile-values.json) at every
YAML position (fixtures/yaml-safety/positions.json), runs
`kit template --escape yaml` once and reads the output back with:
  - PyYAML's pure-Python SafeLoader (YAML 1.1);
  - PyYAML's CSafeLoader, i.e. libyaml;
  - gopkg.in/yaml.v2 (a Go port of libyaml, the decoder of kubectl's
    ecosystem), through tests/yaml-v2-reader, when --yaml-v2 names it.
Then every composite shape (fixtures/yaml-safety/composites.json: a plain
scalar made of text and two values, with sections) with each value of
composite-values.json paired, both ways, with each of a few partners.
Each case must either read back as exactly the expected string with every
reader, or fail with exit code 3, a message on stderr, and nothing on stdout.
Any silent change fails the run; so does a missing reader.

Usage: python3 tests/yaml_readback.py PATH/TO/kit [--yaml-v2 PATH/TO/yaml-v2-reader]
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


def python_reader(loader):
    def read(text, pos):
        doc = yaml.load(text, Loader=loader)
        node = lookup(doc, pos.get("path", []))
        if pos.get("key"):
            keys = list(node)
            if len(keys) != pos.get("key_index", 0) + 1:
                raise ValueError(f"expected {pos.get('key_index', 0) + 1} keys, found {keys!r}")
            return keys[pos.get("key_index", 0)]
        return node
    return read


def go_answers(reader, cases):
    """Reads every rendered case with the Go reader in one process."""
    lines = "".join(
        json.dumps({"yaml": out, "path": pos.get("path", []), "key": bool(pos.get("key")),
                    "key_index": pos.get("key_index", 0)}) + "\n"
        for (_, pos, out, _) in cases)
    r = subprocess.run([reader], input=lines.encode("utf-8"), capture_output=True, check=True)
    answers = [json.loads(line) for line in r.stdout.decode("utf-8").split("\n") if line]
    assert len(answers) == len(cases), "the Go reader answered every case"
    return answers


def main():
    args = sys.argv[1:]
    kit = os.path.abspath(args[0])
    go_reader = None
    if "--yaml-v2" in args:
        go_reader = os.path.abspath(args[args.index("--yaml-v2") + 1])
    if not yaml.__with_libyaml__:
        print("FAIL: this PyYAML has no libyaml (CSafeLoader); install a PyYAML wheel with it")
        print("0 passed, 1 failed")
        return 1
    readers = {"pyyaml": python_reader(yaml.SafeLoader), "libyaml": python_reader(yaml.CSafeLoader)}
    values, positions = load("hostile-values.json"), load("positions.json")
    passed = failed = refused = 0
    rendered = []  # (case, pos, output, expected)
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
                expected = pos.get("fixed", pos.get("prefix", "") + v + pos.get("suffix", ""))
                rendered.append((case, pos, r.stdout.decode("utf-8"), expected))
        # Composites: each value with each partner, on either side.
        shapes, cvalues = load("composites.json"), load("composite-values.json")
        partners = ["", "x", " #", ":", "yes"]
        pairs = [(v, w) for v in cvalues for w in partners] + [(w, v) for v in cvalues for w in partners]
        composites = 0
        for shape in shapes:
            tpl_path = os.path.join(tmp, "c.yaml")
            with open(tpl_path, "w", encoding="utf-8") as f:
                f.write(shape["template"])
            for a, b in pairs:
                with open(data_path, "w", encoding="utf-8") as f:
                    json.dump({"a": a, "b": b}, f)
                r = subprocess.run([kit, "template", tpl_path, "--data", data_path],
                                   capture_output=True)
                composites += 1
                case = f"{shape['name']}: {a!r} + {b!r}"
                if r.returncode != 0:
                    if r.returncode == 3 and r.stdout == b"" and b"error:" in r.stderr:
                        passed += 1
                        refused += 1
                    else:
                        failed += 1
                        print(f"FAIL {case}: exit {r.returncode}, stdout {r.stdout!r}")
                    continue
                expected = "".join({"$a": a, "$b": b}.get(p, p) for p in shape["concat"])
                rendered.append((case, shape, r.stdout.decode("utf-8"), expected))
    go = go_answers(go_reader, rendered) if go_reader else None
    for i, (case, pos, out, expected) in enumerate(rendered):
        problems = []
        for name, read in readers.items():
            try:
                got = read(out, pos)
            except Exception as e:  # noqa: BLE001 - any failure to read back is a failure
                got = f"<unreadable: {e}>"
            if not (isinstance(got, str) and got == expected):
                problems.append(f"{name} read back {got!r}")
        if go is not None and go[i].get("value") != expected:
            problems.append(f"yaml.v2 read back {go[i]!r}")
        if problems:
            failed += 1
            print(f"FAIL {case}: rendered {out!r}: " + "; ".join(problems))
        else:
            passed += 1
    names = list(readers) + (["yaml.v2"] if go is not None else [])
    print(f"read-back by {', '.join(names)}: {len(values)} values x {len(positions)} positions "
          f"and {composites} composite scalars, {refused} refused with a clear error")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
