"""k8s/: every overlay renders with `kubectl kustomize` and every object it
produces validates, built-in kinds with kubernetes-validate (strict, pinned
Kubernetes version), custom resources against the upstream CRD schemas in
../shared/k8s/crds/; and broken manifests fail the same validation."""

from __future__ import annotations

import copy

import pytest

from k8s_support import CRD_FILES, OVERLAYS, find, is_custom, one, render, validate

# What each overlay must contain (kind -> names), so a resource dropped from a
# kustomization cannot pass by not being there.
EXPECTED = {
    "Deployment": {"api", "worker", "scheduler"},
    "StatefulSet": {"haproxy", "redis-queue", "redis-cache"},
    "HorizontalPodAutoscaler": {"api"},
    "ScaledObject": {"worker"},
    "Cluster": {"siprems-db"},
    "Pooler": {"siprems-db-pooler-rw"},
    "Job": {"siprems-migrate"},
    "Service": {"api-pods", "haproxy", "haproxy-peers", "redis-queue", "redis-cache"},
}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_the_whole_topology(overlay):
    objects = render(overlay)
    for kind, names in EXPECTED.items():
        assert names <= {o["metadata"]["name"] for o in find(objects, kind)}, (overlay, kind)
    assert all(o["metadata"].get("namespace") == "siprems" for o in objects if o["kind"] != "Namespace")
    if overlay == "prod":
        assert find(objects, "ScheduledBackup") and find(objects, "PodDisruptionBudget")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates(overlay):
    objects = render(overlay)
    errors = [e for obj in objects for e in validate(obj)]
    assert not errors, "\n".join(errors)
    # Every custom resource kind we use is one the CRD folder covers.
    assert {o["kind"] for o in objects if is_custom(o)} <= {kind for _, kind in CRD_FILES}


def _deployment():
    return copy.deepcopy(one(render("prod"), "Deployment", "api"))


def _custom(kind, name):
    return copy.deepcopy(one(render("prod"), kind, name))


def _broken_cases():
    # Each: a real object from the prod render with one deliberate mistake.
    deployment_typo = _deployment()
    deployment_typo["spec"]["replica"] = 3  # unknown field (strict)
    wrong_type = _deployment()
    wrong_type["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8000"
    hpa_v1_field = copy.deepcopy(one(render("prod"), "HorizontalPodAutoscaler", "api"))
    hpa_v1_field["spec"]["targetCPUUtilizationPercentage"] = 70  # autoscaling/v1 only
    pooler_typo = _custom("Pooler", "siprems-db-pooler-rw")
    pooler_typo["spec"]["pgbouncer"]["pool_mode"] = pooler_typo["spec"]["pgbouncer"].pop("poolMode")
    pooler_bad_mode = _custom("Pooler", "siprems-db-pooler-rw")
    pooler_bad_mode["spec"]["pgbouncer"]["poolMode"] = "transactional"
    cluster_no_instances_type = _custom("Cluster", "siprems-db")
    cluster_no_instances_type["spec"]["instances"] = "three"
    cluster_pooler_field = _custom("Cluster", "siprems-db")
    cluster_pooler_field["spec"]["pooler"] = {"poolMode": "transaction"}  # no such field in Cluster
    scaled_typo_key = _custom("ScaledObject", "worker")
    scaled_typo_key["spec"]["triggers"][0]["metadata"]["pendingEntries"] = "24"  # free map: only our key check
    scaled_missing_target = _custom("ScaledObject", "worker")
    del scaled_missing_target["spec"]["scaleTargetRef"]
    backup_bad_method = _custom("ScheduledBackup", "siprems-db-nightly")
    backup_bad_method["spec"]["method"] = "pg_dump"
    trigger_auth_typo = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {"name": "redis-queue", "namespace": "siprems"},
        "spec": {"secretTargetRef": [{"parameter": "password", "name": "s", "keyy": "password"}]},
    }
    unknown_kind = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    return {
        "deployment unknown field": deployment_typo,
        "deployment wrong type": wrong_type,
        "hpa v1 field in v2": hpa_v1_field,
        "pooler misspelt field": pooler_typo,
        "pooler bad pool mode": pooler_bad_mode,
        "cluster instances not an integer": cluster_no_instances_type,
        "cluster has no pooler field": cluster_pooler_field,
        "scaledobject misspelt trigger key": scaled_typo_key,
        "scaledobject without target": scaled_missing_target,
        "scheduledbackup bad method": backup_bad_method,
        "triggerauthentication misspelt field": trigger_auth_typo,
        "kind nobody knows": unknown_kind,
    }


@pytest.mark.parametrize("case", sorted(_broken_cases()))
def test_broken_manifest_fails_validation(case):
    errors = validate(_broken_cases()[case])
    assert errors, f"{case}: the broken manifest passed validation"


def test_a_valid_trigger_authentication_passes():
    """The counterpart of the broken one above, so the schema itself is not what fails."""
    ok = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {"name": "redis-queue", "namespace": "siprems"},
        "spec": {"secretTargetRef": [{"parameter": "password", "name": "s", "key": "password"}]},
    }
    assert validate(ok) == []
