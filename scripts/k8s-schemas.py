#!/usr/bin/env python3
"""Vendors the Kubernetes JSON schemas deploy/k8s uses into deploy/k8s/schemas.

The schemas come from PyPI's kubernetes-validate package, which ships the
OpenAPI of each Kubernetes release as JSON schemas whose references point into
one shared _definitions.json. kubeconform cannot follow those references, so
each kind is written standalone: the definitions it reaches are copied into
its own $defs. Strict variants: an unknown field is an error.

    pip download --no-deps kubernetes-validate==1.37.0 -d /tmp/kv
    python3 scripts/k8s-schemas.py /tmp/kv/kubernetes_validate-1.37.0-py3-none-any.whl
"""
import json
import os
import re
import sys
import zipfile

K8S_VERSION = "v1.35.0"
KINDS = [
    "deployment-apps-v1",
    "service-v1",
    "poddisruptionbudget-policy-v1",
    "horizontalpodautoscaler-autoscaling-v2",
    "configmap-v1",
    "secret-v1",
    "serviceaccount-v1",
    "networkpolicy-networking-v1",
]
REF = re.compile(r"^(?:/api/_definitions\.json)?#/\$defs/(.+)$")


def main(wheel, out):
    base = f"kubernetes_validate/kubernetes-json-schema/{K8S_VERSION}-local-strict/"
    with zipfile.ZipFile(wheel) as z:
        defs = json.loads(z.read(base + "_definitions.json"))["$defs"]
        for kind in KINDS:
            schema = json.loads(z.read(base + kind + ".json"))
            needed = {}

            def rewrite(node):
                if isinstance(node, dict):
                    ref = node.get("$ref")
                    if isinstance(ref, str):
                        m = REF.match(ref)
                        if not m:
                            raise SystemExit(f"{kind}: unexpected $ref {ref}")
                        name = m.group(1)
                        node["$ref"] = "#/$defs/" + name
                        if name not in needed:
                            needed[name] = None
                            needed[name] = rewrite(json.loads(json.dumps(defs[name])))
                    for k, v in node.items():
                        if k != "$ref":
                            node[k] = rewrite(v)
                elif isinstance(node, list):
                    return [rewrite(v) for v in node]
                return node

            schema = rewrite(schema)
            schema["$defs"] = dict(sorted(needed.items()))
            with open(os.path.join(out, kind + ".json"), "w") as f:
                json.dump(schema, f, indent=1, sort_keys=True)
                f.write("\n")
            print(f"{kind}: {len(needed)} definitions", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    main(sys.argv[1], os.path.join(root, "deploy", "k8s", "schemas"))
