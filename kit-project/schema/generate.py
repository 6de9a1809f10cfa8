#!/usr/bin/env python3
"""Generates kit's compact Kubernetes schema from the JSON schemas that the
`kubernetes-validate` Python package bundles (converted from Kubernetes'
OpenAPI documents; Apache-2.0, like Kubernetes).

    pip install kubernetes-validate==1.37.0
    python3 kit-project/schema/generate.py 1.37.0 > kit-project/schema/kubernetes-1.37.json

The output keeps what kit checks and drops the rest (descriptions, patch
strategies): for each definition its type, properties, required fields,
list items, map values and enums; for each built-in kind the definition of
its apiVersion and kind. Format:

    {"version": "1.37", "kinds": {"apps/v1 Deployment": "apps.v1.Deployment", ...},
     "defs": {"apps.v1.Deployment": NODE, ...}}
    NODE: "@name" (a reference) | {"t": TYPE, "p": {field: NODE}, "r": [required],
           "i": NODE (list items), "v": NODE (map values), "e": [enum]}
    TYPE: "object" | "string" | "integer" | "number" | "boolean" | "array"
          | "int-or-string" | "quantity" | "any"
"""
import json
import os
import sys

import kubernetes_validate

PREFIXES = ["io.k8s.api.", "io.k8s.apimachinery.pkg.apis.", "io.k8s.apimachinery.pkg.", "io.k8s.kube-aggregator.pkg.apis.", "io.k8s.apiextensions-apiserver.pkg.apis."]


def short(name):
    for p in PREFIXES:
        if name.startswith(p):
            return name[len(p):]
    return name


def node(d):
    if "$ref" in d:
        return "@" + short(d["$ref"].split("/")[-1])
    if "oneOf" in d:
        types = sorted(t for o in d["oneOf"] for t in o.get("type", []) if t != "null")
        if types == ["integer", "string"]:
            return {"t": "int-or-string"}
        if types == ["number", "string"]:
            return {"t": "quantity"}
        return {"t": "any"}
    t = d.get("type")
    if isinstance(t, list):
        t = [x for x in t if x != "null"]
        t = t[0] if len(t) == 1 else None
    out = {"t": t or "any"}
    if "properties" in d:
        out["t"] = "object"
        out["p"] = {k: node(v) for k, v in sorted(d["properties"].items())}
        if d.get("required"):
            out["r"] = sorted(d["required"])
    ap = d.get("additionalProperties")
    if isinstance(ap, dict):
        out["v"] = node(ap)
    elif out["t"] == "object" and "p" not in out and ap is not False:
        out["v"] = {"t": "any"}
    if "items" in d:
        out["i"] = node(d["items"])
    if "enum" in d:
        out["e"] = [e for e in d["enum"] if e is not None]
    return out


def main():
    version = sys.argv[1]
    base = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema")
    with open(os.path.join(base, f"v{version}-local-strict", "_definitions.json")) as f:
        defs = json.load(f)["$defs"]
    kinds = {}
    out_defs = {}
    for name, d in sorted(defs.items()):
        out_defs[short(name)] = node(d)
        for gvk in d.get("x-kubernetes-group-version-kind", []):
            group, ver, kind = gvk["group"], gvk["version"], gvk["kind"]
            api = f"{group}/{ver}" if group else ver
            # The type whose apiVersion enum names this kind is the object.
            props = d.get("properties", {})
            if "apiVersion" in props and "kind" in props and "metadata" in props:
                kinds[f"{api} {kind}"] = short(name)
    minor = ".".join(version.split(".")[:2])
    json.dump({"version": minor, "kinds": dict(sorted(kinds.items())), "defs": out_defs}, sys.stdout, separators=(",", ":"), sort_keys=False)
    sys.stdout.write("\n")


main()
