"""Offline checks of the Kubernetes manifests (k8s/): render an overlay with
`kubectl kustomize`, validate built-in kinds with kubernetes-validate (strict,
pinned version) and custom resources against the upstream CRD schemas in
../shared/k8s/crds/ (jsonschema, unknown fields rejected). No cluster needed."""

from __future__ import annotations

import copy
import functools
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
# CI clones the repository with shared/ beside it.
SHARED = REPO.parent / "shared" / "k8s"
OVERLAYS = ("dev", "prod")
# The Kubernetes version the manifests are validated for (a release with HPA
# autoscaling/v2, policy/v1 PDBs and everything else used here).
KUBERNETES_VERSION = "1.33.0"

CRD_FILES = {
    ("keda.sh", "ScaledObject"): "keda.sh_scaledobjects.yaml",
    ("keda.sh", "TriggerAuthentication"): "keda.sh_triggerauthentications.yaml",
    ("postgresql.cnpg.io", "Cluster"): "postgresql.cnpg.io_clusters.yaml",
    ("postgresql.cnpg.io", "Pooler"): "postgresql.cnpg.io_poolers.yaml",
    ("postgresql.cnpg.io", "ScheduledBackup"): "postgresql.cnpg.io_scheduledbackups.yaml",
}

# The metadata keys KEDA's redis-streams scaler reads (../shared/k8s/README.md,
# checked there against the upstream source). A trigger's metadata is a free
# string map in the CRD, so a misspelt key would pass the schema unnoticed.
REDIS_STREAMS_KEYS = {
    "stream",
    "consumerGroup",
    "pendingEntriesCount",
    "streamLength",
    "lagCount",
    "activationLagCount",
    "databaseIndex",
    "enableTLS",
    "unsafeSsl",
}
REDIS_CONNECTION_KEYS = {"address", "addresses", "host", "hosts", "port", "ports", "username", "password"}


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail(
            "kubectl is not installed: the k8s tests render the overlays with `kubectl kustomize` "
            "(install kubectl, which bundles kustomize)"
        )
    return path


@functools.cache
def render(overlay: str) -> tuple[dict, ...]:
    """The objects `kubectl kustomize k8s/overlays/<overlay>` produces."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(REPO / "k8s" / "overlays" / overlay)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        pytest.fail(f"kubectl kustomize {overlay} failed:\n{result.stderr}")
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def group_of(obj: dict) -> str:
    api = obj.get("apiVersion", "")
    return api.split("/")[0] if "/" in api else ""


def is_custom(obj: dict) -> bool:
    return (group_of(obj), obj.get("kind")) in CRD_FILES


def _strict(schema):
    """A CRD schema as the API server applies it with strict field validation:
    an object that lists its properties and does not preserve unknown fields
    rejects any other field (Kubernetes would drop or refuse it)."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if (
            out.get("type") == "object"
            and "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@functools.cache
def crd_validator(group: str, kind: str, version: str) -> jsonschema.protocols.Validator:
    path = SHARED / "crds" / CRD_FILES[(group, kind)]
    if not path.exists():
        pytest.fail(f"CRD schema {path} is missing (shared/ must sit beside the repository)")
    crd = yaml.safe_load(path.read_text())
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            schema = _strict(copy.deepcopy(v["schema"]["openAPIV3Schema"]))
            return jsonschema.Draft7Validator(schema)
    pytest.fail(f"{kind}: no version {version} in {path.name}")


def validate_custom(obj: dict) -> list[str]:
    """Schema errors of a custom resource (empty when valid)."""
    version = obj["apiVersion"].split("/")[1]
    validator = crd_validator(group_of(obj), obj["kind"], version)
    errors = [
        f"{obj['kind']}/{obj['metadata']['name']}: {'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(obj)
    ]
    if obj["kind"] == "ScaledObject":
        errors += trigger_key_errors(obj)
    return errors


def trigger_key_errors(scaled_object: dict) -> list[str]:
    errors = []
    allowed = REDIS_STREAMS_KEYS | REDIS_CONNECTION_KEYS | {f"{k}FromEnv" for k in REDIS_CONNECTION_KEYS}
    for trigger in scaled_object["spec"]["triggers"]:
        if trigger["type"] != "redis-streams":
            errors.append(f"trigger {trigger.get('name')}: unexpected type {trigger['type']}")
            continue
        for key in set(trigger["metadata"]) - allowed:
            errors.append(f"trigger {trigger.get('name')}: metadata key {key!r} is not read by redis-streams")
        if "stream" not in trigger["metadata"]:
            errors.append(f"trigger {trigger.get('name')}: no stream")
    return errors


def validate_builtin(obj: dict) -> list[str]:
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{obj['kind']}/{obj['metadata'].get('name')}: {'.'.join(map(str, exc.path))}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{obj['apiVersion']} {obj['kind']}: no schema (neither built in nor a known CRD)"]
    return []


def validate(obj: dict) -> list[str]:
    return validate_custom(obj) if is_custom(obj) else validate_builtin(obj)


def find(objects, kind: str, name: str | None = None) -> list[dict]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects, kind: str, name: str) -> dict:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def pod_spec(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


def container(obj: dict, name: str) -> dict:
    return next(c for c in pod_spec(obj)["containers"] if c["name"] == name)


def env_of(objects, c: dict) -> dict[str, object]:
    """Every variable a container gets: literal values as strings, secret
    references as ("secret", name, key), ConfigMap keys from envFrom."""
    env: dict[str, object] = {}
    for source in c.get("envFrom", []):
        cm = one(objects, "ConfigMap", source["configMapRef"]["name"])
        env.update(cm["data"])
    for var in c.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            ref = var["valueFrom"]
            if "secretKeyRef" in ref:
                env[var["name"]] = ("secret", ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"])
            else:
                env[var["name"]] = ("field", ref["fieldRef"]["fieldPath"])
    return env
