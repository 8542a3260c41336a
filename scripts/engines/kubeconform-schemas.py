"""Offline JSON schemas for kubeconform -strict, written to OUT_DIR:

* Kubernetes kinds from the PyPI package kubernetes-validate (its <version>-local-strict set).
  Its per-kind files point into a shared `/api/_definitions.json`, which kubeconform cannot
  fetch offline, so each kind is written standalone: the definitions it reaches are inlined
  under `$defs` and its references made local.
* Custom resources from CRD manifests (KEDA, prometheus-operator): each served version's
  openAPIV3Schema, made strict the way kubeconform's own strict schemas are (objects with
  properties admit no others, unless the CRD preserves unknown fields).

Layout, for kubeconform's -schema-location:
    OUT_DIR/{{.ResourceKind}}{{.KindSuffix}}.json             (kubernetes-validate's names)
    OUT_DIR/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json

    python3 scripts/engines/kubeconform-schemas.py OUT_DIR KUBERNETES_VERSION CRD_FILE...
"""

import copy
import json
import pathlib
import re
import sys

import kubernetes_validate  # type: ignore[import-not-found]
import yaml  # type: ignore[import-untyped]

class CrdLoader(yaml.SafeLoader):
    """PyYAML reads a bare `=` as YAML 1.1's value tag; CRDs mean the string (an enum of operators)."""


CrdLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:value"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

SHARED_REF = re.compile(r"^/api/_definitions\.json#/\$defs/(.+)$")
LOCAL_REF = re.compile(r"^#/\$defs/(.+)$")


def kubernetes_schema_dir(version: str) -> pathlib.Path:
    root = pathlib.Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    wanted = root / f"v{version}-local-strict"
    if wanted.is_dir():
        return wanted
    # The newest set of the same minor version.
    minor = ".".join(version.split(".")[:2])
    candidates = sorted(root.glob(f"v{minor}.*-local-strict"))
    if not candidates:
        sys.exit(f"kubernetes-validate has no schemas for {version}")
    return candidates[-1]


def rewrite_refs(node, reached: set[str]):
    """Makes every definition reference local and records which definitions are reached."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            match = SHARED_REF.match(ref) or LOCAL_REF.match(ref)
            if match:
                node["$ref"] = f"#/$defs/{match.group(1)}"
                reached.add(match.group(1))
        for value in node.values():
            rewrite_refs(value, reached)
    elif isinstance(node, list):
        for value in node:
            rewrite_refs(value, reached)


def standalone(schema: dict, definitions: dict) -> dict:
    schema = copy.deepcopy(schema)
    pending: set[str] = set()
    rewrite_refs(schema, pending)
    inlined: dict = {}
    while pending:
        name = pending.pop()
        if name in inlined:
            continue
        definition = copy.deepcopy(definitions[name])
        found: set[str] = set()
        rewrite_refs(definition, found)
        inlined[name] = definition
        pending |= found - inlined.keys()
    schema["$defs"] = inlined
    return schema


def write_kubernetes_schemas(out: pathlib.Path, version: str) -> int:
    source = kubernetes_schema_dir(version)
    definitions = json.loads((source / "_definitions.json").read_text())["$defs"]
    count = 0
    for path in sorted(source.glob("*.json")):
        if path.name in ("_definitions.json", "all.json"):
            continue
        schema = json.loads(path.read_text())
        # Only top-level kinds (they pin apiVersion and kind); fragments are never validated alone.
        properties = schema.get("properties", {})
        if "kind" not in properties or "apiVersion" not in properties:
            continue
        (out / path.name).write_text(json.dumps(standalone(schema, definitions)))
        count += 1
    return count


def make_strict(node):
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            make_strict(value)
    elif isinstance(node, list):
        for value in node:
            make_strict(value)


def write_crd_schemas(out: pathlib.Path, crd_files: list[str]) -> int:
    count = 0
    for file in crd_files:
        for document in yaml.load_all(pathlib.Path(file).read_text(), Loader=CrdLoader):
            if not document or document.get("kind") != "CustomResourceDefinition":
                continue
            spec = document["spec"]
            kind = spec["names"]["kind"].lower()
            for version in spec["versions"]:
                schema = copy.deepcopy(version.get("schema", {}).get("openAPIV3Schema"))
                if not schema:
                    continue
                # apiVersion, kind and metadata are checked by the API server for every object.
                schema.setdefault("properties", {}).update({"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}})
                make_strict(schema)
                target = out / spec["group"] / f"{kind}_{version['name']}.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(schema))
                count += 1
    return count


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    kinds = write_kubernetes_schemas(out, sys.argv[2])
    custom = write_crd_schemas(out, sys.argv[3:])
    print(f"{kinds} Kubernetes kinds, {custom} custom resource versions in {out}")


if __name__ == "__main__":
    main()
