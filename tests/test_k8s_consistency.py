"""k8s/ agrees with the code it deploys: stream names and consumer group,
environment variables, ports and probe paths, CPU requests of autoscaled
pods, the pooler's mode and limits, image names, and the HAProxy wiring."""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import urlsplit

import pytest
import yaml

from k8s_support import OVERLAYS, REPO, container, env_of, find, one, pod_spec, render
from siprems import keys
from siprems.config import _ENV_NAMES, Settings, load_settings
from siprems.jobs.registry import QUEUES

APP_CONTAINERS = {
    ("Deployment", "api"): "api",
    ("Deployment", "worker"): "worker",
    ("Deployment", "scheduler"): "scheduler",
}
# Read outside siprems/config.py, by the processes themselves (checked below to exist in the code).
EXTRA_ENV = {"PROMETHEUS_MULTIPROC_DIR": "siprems/cli.py", "LOG_LEVEL": "siprems/logs.py"}
# .env.example: "production needs at least" these.
REQUIRED_ENV = {"SIPREMS_ENV", "JWT_SECRET", "DATABASE_URL", "REDIS_URL", "QUEUE_REDIS_URL"}
SECRETS = {"siprems-secrets", "siprems-db-app"}


def config_env_names() -> set[str]:
    return {_ENV_NAMES.get(f.name, f.name.upper()) for f in dataclasses.fields(Settings)}


def app_containers(objects):
    for (kind, name), cname in APP_CONTAINERS.items():
        obj = one(objects, kind, name)
        yield obj, container(obj, cname)
    job = one(objects, "Job", "siprems-migrate")
    yield job, container(job, "migrate")


def compose():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def compose_default_image(service: str) -> str:
    image = compose()["services"][service]["image"]
    match = re.fullmatch(r"\$\{\w+:-([^}]+)\}", image)
    return match.group(1) if match else image


def repository(image: str) -> str:
    return image.rsplit(":", 1)[0].rsplit("/", 1)[-1]


# --- jobs -----------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scaledobject_watches_every_job_stream_and_the_workers_group(overlay):
    objects = render(overlay)
    so = one(objects, "ScaledObject", "worker")
    triggers = so["spec"]["triggers"]
    streams = {keys.job_stream(q) for q in QUEUES}
    assert {t["metadata"]["stream"] for t in triggers} == streams
    for stream in streams:
        modes = {k for t in triggers if t["metadata"]["stream"] == stream for k in t["metadata"]}
        assert {"pendingEntriesCount", "lagCount"} <= modes, stream
    assert {t["metadata"]["consumerGroup"] for t in triggers} == {keys.JOBS_GROUP}
    # KEDA's operator runs in another namespace: the address is the queue
    # Service's cluster FQDN, in the namespace the objects are rendered into.
    service = one(objects, "Service", "redis-queue")
    expected = f"redis-queue.{service['metadata']['namespace']}.svc.cluster.local:{service['spec']['ports'][0]['port']}"
    assert {t["metadata"]["address"] for t in triggers} == {expected}
    # The same Redis the app uses for the queue.
    queue_url = env_of(objects, container(one(objects, "Deployment", "worker"), "worker"))["QUEUE_REDIS_URL"]
    assert urlsplit(queue_url).hostname == "redis-queue" and (urlsplit(queue_url).path or "/0") == "/0"
    assert so["spec"]["scaleTargetRef"]["name"] == "worker"
    assert so["spec"]["minReplicaCount"] >= 1  # delayed retries and the janitor live in workers


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_grace_outlasts_its_shutdown_grace(overlay):
    objects = render(overlay)
    worker = one(objects, "Deployment", "worker")
    env = env_of(objects, container(worker, "worker"))
    grace = float(env.get("JOB_SHUTDOWN_GRACE_SECONDS", Settings.job_shutdown_grace_seconds))
    assert pod_spec(worker)["terminationGracePeriodSeconds"] > grace + 10


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_deployment_has_two_autoscalers_and_selectors_are_distinct(overlay):
    objects = render(overlay)
    hpa_targets = {h["spec"]["scaleTargetRef"]["name"] for h in find(objects, "HorizontalPodAutoscaler")}
    keda_targets = {s["spec"]["scaleTargetRef"]["name"] for s in find(objects, "ScaledObject")}
    assert hpa_targets == {"api"} and keda_targets == {"worker"}
    api, worker = one(objects, "Deployment", "api"), one(objects, "Deployment", "worker")
    for a, b in ((api, worker), (worker, api)):
        selector = a["spec"]["selector"]["matchLabels"]
        labels = b["spec"]["template"]["metadata"]["labels"]
        assert not selector.items() <= labels.items(), "one Deployment's selector matches the other's pods"
    # An autoscaled Deployment leaves its replica count to the autoscaler.
    assert "replicas" not in api["spec"] and "replicas" not in worker["spec"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scheduler_runs_two_in_prod(overlay):
    replicas = one(render(overlay), "Deployment", "scheduler")["spec"]["replicas"]
    assert replicas == (2 if overlay == "prod" else 1)


# --- environment ------------------------------------------------------------------


def test_extra_env_names_are_read_where_we_say():
    for name, path in EXTRA_ENV.items():
        assert name in (REPO / path).read_text(), (name, path)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_env_var_is_a_setting_and_the_required_ones_are_set(overlay):
    objects = render(overlay)
    known = config_env_names() | set(EXTRA_ENV)
    for obj, c in app_containers(objects):
        env = env_of(objects, c)
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert not set(env) - known, f"{where}: not read by the app: {sorted(set(env) - known)}"
        assert REQUIRED_ENV - {"REDIS_URL", "QUEUE_REDIS_URL"} <= set(env), where
        if obj["kind"] == "Deployment":
            assert set(env) >= REQUIRED_ENV, where
        assert env["SIPREMS_ENV"] == "production"
        # Secrets only by reference, from the Secrets we document.
        for name in ("JWT_SECRET", "DATABASE_PASSWORD"):
            assert env[name][0] == "secret" and env[name][1] in SECRETS, (where, name)
        if "GEMINI_API_KEY" in env:
            assert env["GEMINI_API_KEY"][0] == "secret"
        # The settings load as the pod would load them (types parse, production rules hold).
        resolved = {k: ("s" * 40 if isinstance(v, tuple) else v) for k, v in env.items()}
        settings = load_settings(resolved)
        assert settings.is_production
        if obj["metadata"]["name"] == "api":
            assert settings.migrate_on_start is False  # the migration Job does it, once
    assert not find(objects, "Secret"), "a Secret is committed in the manifests"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_app_reaches_postgres_through_the_pooler_and_migrates_directly(overlay):
    objects = render(overlay)
    pooler = one(objects, "Pooler", "siprems-db-pooler-rw")
    cluster = one(objects, "Cluster", pooler["spec"]["cluster"]["name"])
    db_name = cluster["spec"]["bootstrap"]["initdb"]["database"]
    owner = cluster["spec"]["bootstrap"]["initdb"]["owner"]
    for obj, c in app_containers(objects):
        env = env_of(objects, c)
        url = urlsplit(env["DATABASE_URL"])
        if obj["kind"] == "Job":
            direct = urlsplit(env["DATABASE_DIRECT_URL"])
            assert direct.hostname == f"{cluster['metadata']['name']}-rw"  # never through transaction pooling
        else:
            assert url.hostname == pooler["metadata"]["name"]  # the Pooler's Service has its name
        assert url.password is None, "the password comes from DATABASE_PASSWORD (secret)"
        assert url.username == owner and url.path == f"/{db_name}"
        assert env["DATABASE_PASSWORD"] == ("secret", f"{cluster['metadata']['name']}-app", "password")


# --- the pooler ------------------------------------------------------------------

# The pgbouncer settings a CloudNativePG Pooler accepts in `parameters`
# (CloudNativePG docs, connection_pooling.md, "PgBouncer configuration options").
POOLER_ALLOWED = {
    "application_name_add_host", "autodb_idle_timeout", "client_idle_timeout", "client_login_timeout",
    "default_pool_size", "disable_pqexec", "idle_transaction_timeout", "ignore_startup_parameters",
    "log_connections", "log_disconnections", "log_pooler_errors", "log_stats", "max_client_conn",
    "max_db_connections", "max_user_connections", "min_pool_size", "query_timeout", "query_wait_timeout",
    "reserve_pool_size", "reserve_pool_timeout", "server_check_delay", "server_check_query",
    "server_connect_timeout", "server_fast_close", "server_idle_timeout", "server_lifetime",
    "server_login_retry", "server_reset_query", "server_reset_query_always", "server_round_robin",
    "stats_period", "verbose",
}  # fmt: skip


def pgbouncer_defaults() -> dict[str, str]:
    out = {}
    for line in (REPO / "pgbouncer" / "defaults.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, value = line.split("=", 1)
            out[name.removeprefix("PGBOUNCER_").lower()] = value.strip()
    return out


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pooler_is_transaction_mode_with_the_pgbouncer_defaults(overlay):
    objects = render(overlay)
    pooler = one(objects, "Pooler", "siprems-db-pooler-rw")
    assert pooler["spec"]["pgbouncer"]["poolMode"] == "transaction"
    assert pooler["spec"]["type"] == "rw"
    params = pooler["spec"]["pgbouncer"]["parameters"]
    assert params == pgbouncer_defaults()
    assert set(params) <= POOLER_ALLOWED
    assert pooler["metadata"]["name"] != pooler["spec"]["cluster"]["name"]
    # PostgreSQL must accept every Pooler pod's server connections plus headroom.
    cluster = one(objects, "Cluster", pooler["spec"]["cluster"]["name"])
    max_conn = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
    assert pooler["spec"]["instances"] * int(params["max_db_connections"]) + 20 <= max_conn


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_database_cluster_and_backups(overlay):
    objects = render(overlay)
    cluster = one(objects, "Cluster", "siprems-db")
    backups = find(objects, "ScheduledBackup")
    if overlay == "prod":
        assert cluster["spec"]["instances"] == 3
        assert cluster["spec"]["affinity"]["enablePodAntiAffinity"] is True
        assert [b["spec"]["cluster"]["name"] for b in backups] == ["siprems-db"]
        assert backups[0]["spec"]["method"] in cluster["spec"]["backup"]
    else:
        assert cluster["spec"]["instances"] == 1 and not backups


# --- ports, probes, metrics ---------------------------------------------------------


@pytest.fixture(scope="module")
def app_routes() -> set[str]:
    from sanic import Sanic
    from sanic.exceptions import SanicException

    from siprems.app import create_app

    try:  # one app per process: another test (test_cors) may have built it already
        app = Sanic.get_app("siprems")
    except SanicException:
        app = create_app(load_settings({"SIPREMS_ENV": "test"}))
    return {"/" + r.path.lstrip("/") for r in app.router.routes}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_api_ports_probes_and_metrics_match_the_app(overlay, app_routes):
    objects = render(overlay)
    api = one(objects, "Deployment", "api")
    c = container(api, "api")
    env = env_of(objects, c)
    port = int(env["PORT"])
    assert env["HOST"] == "0.0.0.0"
    assert [p["containerPort"] for p in c["ports"]] == [port]
    named = {p["name"]: p["containerPort"] for p in c["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = c[probe]["httpGet"]
        assert named.get(get["port"], get["port"]) == port
        assert get["path"] in app_routes, (probe, get["path"])
    annotations = api["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == port and annotations["prometheus.io/path"] in app_routes
    # The metrics directory is on a writable volume (the root filesystem is read-only).
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert env["PROMETHEUS_MULTIPROC_DIR"] in mounts
    service = one(objects, "Service", "api-pods")
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["ports"][0]["port"] == port


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_urls_match_the_redis_services(overlay):
    objects = render(overlay)
    env = env_of(objects, container(one(objects, "Deployment", "api"), "api"))
    for var, name in (("REDIS_URL", "redis-cache"), ("QUEUE_REDIS_URL", "redis-queue")):
        url = urlsplit(env[var])
        service = one(objects, "Service", name)
        assert url.hostname == name and url.port == service["spec"]["ports"][0]["port"]
        sts = one(objects, "StatefulSet", name)
        assert sts["spec"]["volumeClaimTemplates"], f"{name} keeps its AOF on a volume"
        assert container(sts, "redis")["ports"][0]["containerPort"] == url.port


def test_redis_configs_are_the_docker_files():
    objects = render("prod")
    for name, policy in (("redis-queue", "noeviction"), ("redis-cache", "volatile-lru")):
        sts = one(objects, "StatefulSet", name)
        cm_name = next(v["configMap"]["name"] for v in pod_spec(sts)["volumes"] if "configMap" in v)
        conf = one(objects, "ConfigMap", cm_name)["data"]["redis.conf"]
        assert conf == (REPO / "docker" / f"{name}.conf").read_text()
        assert f"maxmemory-policy {policy}" in conf and "appendonly yes" in conf


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscaled_containers_have_cpu_requests(overlay):
    objects = render(overlay)
    targets = [h["spec"]["scaleTargetRef"]["name"] for h in find(objects, "HorizontalPodAutoscaler")]
    targets += [s["spec"]["scaleTargetRef"]["name"] for s in find(objects, "ScaledObject")]
    for name in targets:
        for c in pod_spec(one(objects, "Deployment", name))["containers"]:
            assert c["resources"]["requests"]["cpu"], (name, c["name"])
            assert c["resources"]["requests"]["memory"] and c["resources"]["limits"]["memory"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_are_non_root_with_read_only_root(overlay):
    for obj in render(overlay):
        if obj["kind"] not in {"Deployment", "StatefulSet", "Job"}:
            continue
        spec = pod_spec(obj)
        assert spec["securityContext"]["runAsNonRoot"] is True, obj["metadata"]["name"]
        assert spec["enableServiceLinks"] is False  # no injected *_SERVICE_HOST/PORT variables
        for c in spec["containers"]:
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, (obj["metadata"]["name"], c["name"])
            assert c["securityContext"]["allowPrivilegeEscalation"] is False


# --- images ----------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_match_docker(overlay):
    objects = render(overlay)
    app_image = compose_default_image("api")
    assert repository(app_image) == "siprems" and "docker/Dockerfile" in str(compose()["x-app"]["build"])
    for obj, c in app_containers(objects):
        assert repository(c["image"]) == repository(app_image), obj["metadata"]["name"]
    assert container(one(objects, "StatefulSet", "haproxy"), "haproxy")["image"] == compose_default_image("haproxy")
    for name in ("redis-queue", "redis-cache"):
        assert container(one(objects, "StatefulSet", name), "redis")["image"] == compose_default_image(name)
    # CloudNativePG runs its own operand image; the major version is compose's.
    pg_major = compose_default_image("postgres").split(":")[1].split("-")[0].split(".")[0]
    image = one(objects, "Cluster", "siprems-db")["spec"]["imageName"]
    assert image.rsplit(":", 1)[1].split(".")[0] == pg_major


# --- HAProxy ---------------------------------------------------------------------------


def haproxy_vars(*files: str) -> tuple[set[str], set[str]]:
    """(all variables the files use, those with no default)."""
    used, required = set(), set()
    for name in files:
        text = (REPO / "haproxy" / name).read_text()
        for var, rest in re.findall(r"\$\{(\w+)(\[\*\]|-[^}]*)?\}", text):
            used.add(var)
            if not rest and not re.search(rf"defined\({var}\)|presetenv {var} ", text):
                required.add(var)
    return used, required


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_haproxy_wiring(overlay):
    objects = render(overlay)
    sts = one(objects, "StatefulSet", "haproxy")
    c = container(sts, "haproxy")
    env = env_of(objects, c)
    used, required = haproxy_vars("haproxy.cfg", "backend-k8s.cfg")
    script = (REPO / "haproxy" / "k8s-peers.sh").read_text()
    assert required - {"HAPROXY_TABLE_PEERS"} <= set(env), sorted(required - set(env))
    for name in env:
        assert name in used or name in script, f"HAProxy env {name} is read by nothing"
    # The config the ConfigMap carries is the repository's, byte for byte.
    cm_name = next(v["configMap"]["name"] for v in pod_spec(sts)["volumes"] if "configMap" in v)
    data = one(objects, "ConfigMap", cm_name)["data"]
    for name in ("haproxy.cfg", "backend-k8s.cfg", "k8s-peers.sh"):
        assert data[name] == (REPO / "haproxy" / name).read_text()
    # Enough server slots for the HPA's maximum; peers = the StatefulSet's replicas.
    hpa = one(objects, "HorizontalPodAutoscaler", "api")
    assert int(env["HAPROXY_API_SLOTS"]) >= hpa["spec"]["maxReplicas"]
    assert int(env["HAPROXY_REPLICAS"]) == sts["spec"]["replicas"]
    assert env["HAPROXY_TABLE_PEERS"] == "peers siprems" and "peers siprems" in script
    ns = sts["metadata"]["namespace"]
    assert env["HAPROXY_API_DNS"] == f"api-pods.{ns}.svc.cluster.local"
    assert env["HAPROXY_PEERS_DOMAIN"] == f"{sts['spec']['serviceName']}.{ns}.svc.cluster.local"
    assert int(env["HAPROXY_API_PORT"]) == one(objects, "Service", "api-pods")["spec"]["ports"][0]["port"]
    peers_service = one(objects, "Service", sts["spec"]["serviceName"])
    assert peers_service["spec"]["publishNotReadyAddresses"] is True
    # Ports: the listeners the config binds, the probes on the stats frontend's /healthz.
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["http"] == int(env["HAPROXY_PORT"]) and ports["stats"] == int(env["HAPROXY_STATS_PORT"])
    assert "path /healthz" in (REPO / "haproxy" / "haproxy.cfg").read_text()
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "stats"}
    front = one(objects, "Service", "haproxy")
    assert front["spec"]["type"] in {"LoadBalancer", "NodePort"}
    assert front["spec"]["ports"][0]["targetPort"] == "http"
    # HAProxy health-checks the API on a route the app serves without dependencies.
    assert "uri /health " in (REPO / "haproxy" / "haproxy.cfg").read_text()


# --- network policies and disruption budgets ------------------------------------------


def _peers(policy):
    return [peer for rule in policy["spec"].get("ingress", []) for peer in rule.get("from", [{"any": True}])]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies(overlay):
    objects = render(overlay)
    policies = {p["metadata"]["name"]: p for p in find(objects, "NetworkPolicy")}
    assert policies["default-deny-ingress"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    # Only HAProxy (and Prometheus) reach the API.
    assert _peers(policies["api"]) == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "haproxy"}}},
        monitoring,
    ]
    # Only the app's own pods (and operators, monitoring) reach the data stores.
    for name in ("pooler", "redis-queue", "redis-cache"):
        for peer in _peers(policies[name]):
            if "podSelector" in peer:
                sel = peer["podSelector"]
                assert sel["matchLabels"] == {"app.kubernetes.io/name": "siprems"}
                allowed = set(sel["matchExpressions"][0]["values"])
                assert allowed <= {"api", "worker", "scheduler"}, name
            else:
                ns = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                assert ns in {"monitoring", "keda"}, name
    pg_pods = [p for p in _peers(policies["postgres"]) if "podSelector" in p]
    assert all(
        "cnpg.io/poolerName" in p["podSelector"]["matchLabels"]
        or "cnpg.io/cluster" in p["podSelector"]["matchLabels"]
        or p["podSelector"]["matchLabels"].get("app.kubernetes.io/component") == "migrate"
        for p in pg_pods
    )


def test_prod_has_budgets_and_anti_affinity():
    objects = render("prod")
    budgets = find(objects, "PodDisruptionBudget")
    for kind, name in (
        ("Deployment", "api"),
        ("Deployment", "worker"),
        ("Deployment", "scheduler"),
        ("StatefulSet", "haproxy"),
    ):
        obj = one(objects, kind, name)
        labels = obj["spec"]["template"]["metadata"]["labels"]
        assert any(b["spec"]["selector"]["matchLabels"].items() <= labels.items() for b in budgets), name
        anti = pod_spec(obj)["affinity"]["podAntiAffinity"]
        assert anti, name
    assert any(b["spec"]["selector"]["matchLabels"] == {"cnpg.io/poolerName": "siprems-db-pooler-rw"} for b in budgets)
    assert one(objects, "Pooler", "siprems-db-pooler-rw")["spec"]["instances"] >= 2
    assert one(objects, "StatefulSet", "haproxy")["spec"]["replicas"] >= 2
