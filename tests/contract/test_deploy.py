"""The deployment files agree with each other and with the code.

docker-compose.yml, deploy/docker/Dockerfile, deploy/prometheus (scrape config,
rules, rule unit tests, Alertmanager) and deploy/grafana are checked without a
Docker engine: ports, mounts, dependencies and metric names are compared across
files, and promtool/amtool validate what they can when they are installed
(Debian packages ``prometheus`` and ``prometheus-alertmanager``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
PROM_DIR = ROOT / "deploy" / "prometheus"
PROM_CONFIG = PROM_DIR / "prometheus.yml"
RULES_DIR = PROM_DIR / "rules"
RULES_FILE = RULES_DIR / "wirewatch.rules.yml"
RULES_TESTS = PROM_DIR / "tests" / "wirewatch.rules.test.yml"
ALERTMANAGER_CONFIG = PROM_DIR / "alertmanager.yml"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "wirewatch-pipeline.json"
GRAFANA_DATASOURCE = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
GRAFANA_PROVIDER = GRAFANA_DIR / "provisioning" / "dashboards" / "wirewatch.yml"

# The long-running wirewatch services and the metrics port each one defaults to.
WIREWATCH_SERVICES = {"watcher": 9464, "worker": 9465, "indexer": 9466}
WIREWATCH_IMAGE_SERVICES = ["init", *WIREWATCH_SERVICES]
REQUIRED_SERVICES = {
    "kafka",
    "elasticsearch",
    "kibana",
    "kibana-init",
    "prometheus",
    "alertmanager",
    "grafana",
    "init",
    *WIREWATCH_SERVICES,
}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}

PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
# CI installs the Debian packages and sets this, so that a missing tool fails
# instead of skipping.
_REQUIRE_TOOLS = os.environ.get("WIREWATCH_REQUIRE_PROMTOOL") == "1"


def _tool(path: str | None, name: str, package: str) -> str:
    if path is None:
        message = f"{name} is not installed (Debian package `{package}`)"
        if _REQUIRE_TOOLS:
            pytest.fail(message + " but WIREWATCH_REQUIRE_PROMTOOL=1")
        pytest.skip(message)
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


# -- loading ---------------------------------------------------------------------------
def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def prom_config() -> dict[str, Any]:
    return _yaml(PROM_CONFIG)


@pytest.fixture(scope="module")
def rules() -> dict[str, Any]:
    return _yaml(RULES_FILE)


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")


def _interpolate(value: str) -> str:
    """Compose's ``${VAR:-default}``, taking the default (the stack as checked in)."""

    def repl(m: re.Match[str]) -> str:
        return m.group(3) if m.group(2) else ""

    return _VAR.sub(repl, value)


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _argv(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(v) for v in value]


def _command_text(service: dict[str, Any]) -> str:
    """Entrypoint and command as one string (``sh -c`` scripts included)."""
    return " ".join(_argv(service.get("entrypoint")) + _argv(service.get("command")))


def _flag(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _metrics_port(name: str, service: dict[str, Any]) -> int:
    argv = _argv(service.get("command"))
    port = _flag(argv, "--metrics-port") or _env(service).get("WIREWATCH_METRICS_PORT")
    return int(port) if port else WIREWATCH_SERVICES[name]


def _mounts(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(type, source, target) of each volume entry; type is ``bind`` or ``volume``."""
    out = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            kind, source, target = entry["type"], entry.get("source", ""), entry["target"]
        else:
            parts = _interpolate(entry).split(":")
            source, target = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        out.append((kind, _interpolate(source), target))
    return out


def _host_path(service: dict[str, Any], container_path: str) -> Path | None:
    """The repository path a service sees at ``container_path``, through its bind mounts."""
    wanted = PurePosixPath(container_path)
    best: tuple[int, Path] | None = None
    for kind, source, target in _mounts(service):
        if kind != "bind":
            continue
        target_path = PurePosixPath(target)
        if wanted == target_path or target_path in wanted.parents:
            depth = len(target_path.parts)
            if best is None or depth > best[0]:
                rest = wanted.relative_to(target_path)
                best = (depth, (ROOT / source / rest).resolve())
    return best[1] if best else None


def _scrape_targets(prom_config: dict[str, Any]) -> dict[str, set[tuple[str, int]]]:
    """job name -> {(host, port)} from static and DNS service discovery."""
    jobs: dict[str, set[tuple[str, int]]] = {}
    for job in prom_config["scrape_configs"]:
        targets = jobs.setdefault(job["job_name"], set())
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                targets.add((host, int(port)))
        for dns in job.get("dns_sd_configs", []):
            for name in dns["names"]:
                targets.add((name, int(dns["port"])))
    return jobs


# -- metric names ------------------------------------------------------------------------
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}


def _exposed_metrics() -> dict[str, set[str]]:
    """Every series name wirewatch exposes -> the label names it may carry."""
    from wirewatch import metrics
    from wirewatch.metrics import REGISTRY

    labels: dict[str, set[str]] = {}
    for obj in vars(metrics).values():
        name = getattr(obj, "_name", None)
        if isinstance(name, str) and hasattr(obj, "_labelnames"):
            labels[name] = set(obj._labelnames)
    names: dict[str, set[str]] = {}
    for family in REGISTRY.collect():
        base = family.name
        for suffix in _SUFFIXES[family.type]:
            extra = {"le"} if suffix == "_bucket" else set()
            names[base + suffix] = labels.get(base, labels.get(base + "_total", set())) | extra
    return names


@pytest.fixture(scope="module")
def exposed() -> dict[str, set[str]]:
    names = _exposed_metrics()
    assert "wirewatch_files_seen_total" in names
    assert "wirewatch_end_to_end_seconds_bucket" in names
    return names


_METRIC = re.compile(r"(?<![A-Za-z0-9_:])(wirewatch_[a-z0-9_]+)")
_SELECTOR = re.compile(r"(?<![A-Za-z0-9_:])(wirewatch_[a-z0-9_]+)\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
_RECORDED = re.compile(r"(?<![A-Za-z0-9_:])(wirewatch:[a-z0-9_:]+)")


def _unknown_names(expr: str, exposed: dict[str, set[str]], recorded: set[str]) -> list[str]:
    problems = [f"unknown metric {m}" for m in _METRIC.findall(expr) if m not in exposed]
    problems += [
        f"unknown recorded series {r}" for r in _RECORDED.findall(expr) if r not in recorded
    ]
    for metric, matchers in _SELECTOR.findall(expr):
        allowed = exposed.get(metric, set()) | {"job", "instance"}
        problems += [
            f"{metric} has no label {label}"
            for label in _MATCHER.findall(matchers)
            if label not in allowed
        ]
    return problems


def _rule_list(rules: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in rules["groups"] for rule in group["rules"]]


def _recorded(rules: dict[str, Any]) -> set[str]:
    return {r["record"] for r in _rule_list(rules) if "record" in r}


def _alerts(rules: dict[str, Any]) -> set[str]:
    return {r["alert"] for r in _rule_list(rules) if "alert" in r}


def _dashboard_targets(dashboard: dict[str, Any]) -> list[tuple[dict, dict]]:
    out = []
    for panel in dashboard["panels"]:
        for child in [panel, *panel.get("panels", [])]:
            for target in child.get("targets", []):
                out.append((child, target))
    return out


# -- docker-compose.yml --------------------------------------------------------------------
def test_compose_has_every_service(services):
    missing = REQUIRED_SERVICES - set(services)
    assert not missing, f"docker-compose.yml lacks {sorted(missing)}"


@pytest.mark.parametrize("name", WIREWATCH_IMAGE_SERVICES)
def test_wirewatch_services_build_the_one_image(services, name):
    service = services[name]
    build = service.get("build")
    assert isinstance(build, dict), f"{name}: no build section"
    assert build.get("context") == "."
    assert build.get("dockerfile") == "deploy/docker/Dockerfile"
    assert (ROOT / build["dockerfile"]).is_file()
    images = {services[n].get("image") for n in WIREWATCH_IMAGE_SERVICES}
    assert len(images) == 1 and None not in images, f"one image name for all: {images}"


@pytest.mark.parametrize("name", sorted(WIREWATCH_SERVICES))
def test_wirewatch_service_metrics_are_scraped_and_health_checked(services, prom_config, name):
    service = services[name]
    port = _metrics_port(name, service)
    assert port == WIREWATCH_SERVICES[name], f"{name} serves metrics on {port}"
    assert _env(service).get("WIREWATCH_METRICS_HOST") == "0.0.0.0", (
        f"{name}: the metrics endpoint binds to loopback unless WIREWATCH_METRICS_HOST=0.0.0.0"
    )
    scraped = {
        job for job, targets in _scrape_targets(prom_config).items() if (name, port) in targets
    }
    assert scraped, f"no Prometheus job scrapes {name}:{port}"
    test = " ".join(_argv(service.get("healthcheck", {}).get("test")))
    assert f"http://127.0.0.1:{port}/healthz" in test, f"{name}: healthcheck is {test!r}"
    assert _argv(service.get("command"))[0] == name, f"{name} runs `wirewatch {name}`"


def test_wirewatch_services_reach_kafka_and_elasticsearch(services):
    kafka_env = _env(services["kafka"])
    assert "PLAINTEXT://kafka:9092" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller", "KRaft, one node"
    for name in WIREWATCH_IMAGE_SERVICES:
        env = _env(services[name])
        assert env.get("WIREWATCH_KAFKA__BOOTSTRAP") == "kafka:9092", name
        assert env.get("WIREWATCH_ES__URL") == "http://elasticsearch:9200", name


def test_long_running_services_have_healthchecks(services):
    for name, service in services.items():
        if str(service.get("restart", "no")) == "no":
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test and _argv(test) != ["NONE"], f"{name} has no healthcheck"


def test_depends_on_names_services_with_sensible_conditions(services):
    for name, service in services.items():
        deps = service.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {dep: {"condition": "service_started"} for dep in deps}
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            condition = spec.get("condition", "service_started")
            assert condition in CONDITIONS, f"{name} -> {dep}: {condition}"
            if condition == "service_healthy":
                assert services[dep].get("healthcheck"), f"{name} waits for {dep} health: none"
            if condition == "service_completed_successfully":
                assert str(services[dep].get("restart", "no")) == "no", (
                    f"{name} waits for {dep} to complete, but {dep} is restarted"
                )


def test_start_order(services):
    def condition(name: str, dep: str) -> str | None:
        return (services[name].get("depends_on") or {}).get(dep, {}).get("condition")

    for name in WIREWATCH_SERVICES:
        assert condition(name, "init") == "service_completed_successfully", name
    assert condition("init", "kafka") == "service_healthy"
    assert condition("init", "elasticsearch") == "service_healthy"
    assert condition("kibana", "elasticsearch") == "service_healthy"
    assert condition("kibana-init", "kibana") == "service_healthy"


def test_worker_can_be_scaled(services):
    worker = services["worker"]
    assert "container_name" not in worker, "--scale worker=N needs distinct container names"
    assert not worker.get("ports"), "--scale worker=N cannot bind one host port N times"
    assert "hostname" not in worker


def test_mounts_exist_in_the_repository(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for kind, source, target in _mounts(service):
            if kind == "bind":
                assert not source.startswith(("/", "~")), (
                    f"{name}: host path {source} outside the repo"
                )
                assert (ROOT / source).exists(), (
                    f"{name}: {source} (mounted at {target}) is missing"
                )
            elif source:
                assert source in declared, f"{name}: volume {source} is not declared"


def test_init_creates_topics_then_installs_templates(services):
    script = _command_text(services["init"])
    assert "topics create" in script and "templates install" in script
    assert script.index("topics create") < script.index("templates install")
    assert "&&" in script, "the templates step must not run after a failed topics step"


def test_compose_commands_parse_with_the_cli(services):
    """Every `wirewatch ...` the stack runs is accepted by the command line as it is."""
    import click
    from wirewatch.cli.main import parse_args

    commands = [_argv(services[name]["command"]) for name in WIREWATCH_SERVICES]
    script = _command_text(services["init"]).split(" -c ", 1)[-1]
    for step in script.split("&&"):
        argv = shlex.split(step)
        assert argv[0] == "wirewatch", step
        commands.append(argv[1:])
    for argv in commands:
        try:
            parse_args(argv)
        except click.ClickException as exc:
            pytest.fail(f"`wirewatch {' '.join(argv)}` is refused by the CLI ({exc})")


def test_kibana_init_imports_the_saved_objects(services):
    service = services["kibana-init"]
    script = _command_text(service)
    assert "/api/saved_objects/_import?overwrite=true" in script
    assert "kbn-xsrf: true" in script
    upload = re.search(r"file=@(\S+)", script)
    assert upload, script
    assert _host_path(service, upload.group(1)) == ROOT / "deploy" / "kibana" / "wirewatch.ndjson"


def test_watcher_and_indexer_mounts_match_their_flags(services):
    watcher = services["watcher"]
    argv = _argv(watcher["command"])
    inbox = _flag(argv, "--inbox")
    assert inbox and any(target == inbox for _, _, target in _mounts(watcher))
    state = _flag(argv, "--state") or _env(watcher).get("WIREWATCH_STATE")
    assert state, "the watcher's state file must be on a volume"
    state_dir = str(PurePosixPath(state).parent)
    assert any(kind == "volume" and target == state_dir for kind, _, target in _mounts(watcher)), (
        f"{state_dir} is not a named volume: the state would be lost with the container"
    )

    indexer = services["indexer"]
    rules_path = _flag(_argv(indexer["command"]), "--rules") or _env(indexer).get("WIREWATCH_RULES")
    assert rules_path
    assert _host_path(indexer, rules_path) == ROOT / "examples" / "rules.yaml"


def test_observability_services_mount_the_deploy_files(services, prom_config):
    prometheus = services["prometheus"]
    config = _flag(_argv(prometheus.get("command")), "--config.file")
    assert config and _host_path(prometheus, config) == PROM_CONFIG
    for pattern in prom_config["rule_files"]:
        host = _host_path(prometheus, pattern)
        assert host is not None, f"rule_files {pattern} is not mounted"
        assert RULES_FILE in set(host.parent.glob(host.name)), pattern

    alertmanager = services["alertmanager"]
    config = _flag(_argv(alertmanager.get("command")), "--config.file")
    assert config and _host_path(alertmanager, config) == ALERTMANAGER_CONFIG

    grafana = services["grafana"]
    for kind in ("datasources", "dashboards"):
        host = _host_path(grafana, f"/etc/grafana/provisioning/{kind}")
        assert host == GRAFANA_DIR / "provisioning" / kind, kind
    provider = _yaml(GRAFANA_PROVIDER)["providers"][0]
    assert _host_path(grafana, provider["options"]["path"]) == DASHBOARD.parent
    home = _env(grafana).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        assert _host_path(grafana, home) == DASHBOARD


# -- Dockerfile and packaging --------------------------------------------------------------
def test_dockerfile_builds_every_service_as_a_non_root_user():
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert re.search(r'^ENTRYPOINT \["wirewatch"\]', text, re.M)
    assert "[distributed]" in text, "the image needs the distributed extra"
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in {"root", "0"}, "the services must not run as root"
    for copied in re.findall(r"^COPY\s+(?!--from)(.+)$", text, re.M):
        for source in copied.split()[:-1]:
            if not source.startswith("--"):
                assert (ROOT / source).exists(), f"COPY {source}: missing"


def test_the_image_installs_every_package_and_the_distributed_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extra = " ".join(project["project"]["optional-dependencies"].get("distributed", []))
    for requirement in ("faust-streaming", "kafka-python", "elasticsearch"):
        assert requirement in extra, f"the distributed extra lacks {requirement}"
    # The wheel (what the image installs) holds the packages setuptools finds under
    # services/: the import name is the path, so every code folder must be a package.
    find = project["tool"]["setuptools"]["packages"]["find"]
    assert find["where"] == ["services"]
    assert "package-dir" not in project["tool"]["setuptools"]
    code = ROOT / "services" / "wirewatch"
    for module in code.rglob("*.py"):
        folder = module.parent
        assert (folder / "__init__.py").exists(), f"{folder}: not a package, so not in the wheel"


# -- Prometheus ------------------------------------------------------------------------
def test_prometheus_scrapes_scaled_workers_through_dns(prom_config):
    worker_jobs = [
        job
        for job in prom_config["scrape_configs"]
        if any("worker" in dns.get("names", []) for dns in job.get("dns_sd_configs", []))
    ]
    assert len(worker_jobs) == 1
    (dns,) = worker_jobs[0]["dns_sd_configs"]
    assert dns["type"] == "A" and dns["port"] == WIREWATCH_SERVICES["worker"]


def test_prometheus_alerts_go_to_the_alertmanager_service(prom_config, services):
    targets = [
        target
        for am in prom_config["alerting"]["alertmanagers"]
        for static in am["static_configs"]
        for target in static["targets"]
    ]
    assert targets
    for target in targets:
        assert target.rsplit(":", 1)[0] in services, target


def test_rule_exprs_use_only_defined_metrics(rules, exposed):
    recorded = _recorded(rules)
    problems = []
    for rule in _rule_list(rules):
        name = rule.get("alert") or rule.get("record")
        problems += [f"{name}: {p}" for p in _unknown_names(rule["expr"], exposed, recorded)]
    assert not problems, "\n".join(problems)
    assert all(r.startswith("wirewatch:") for r in recorded), recorded


def test_alerts_have_severity_and_annotations(rules):
    for rule in _rule_list(rules):
        if "alert" not in rule:
            continue
        assert rule["alert"].startswith("Wirewatch"), rule["alert"]
        assert rule.get("labels", {}).get("severity") in {"warning", "critical"}, rule["alert"]
        annotations = rule.get("annotations", {})
        assert annotations.get("summary") and annotations.get("description"), rule["alert"]


def test_every_alert_has_firing_and_silent_unit_tests(rules, exposed):
    unit = _yaml(RULES_TESTS)
    assert [str((RULES_TESTS.parent / f).resolve()) for f in unit["rule_files"]] == [
        str(RULES_FILE)
    ]
    firing: set[str] = set()
    silent: set[str] = set()
    recorded = _recorded(rules)
    for case in unit["tests"]:
        for series in case.get("input_series", []):
            metric = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", series["series"]).group(0)
            assert metric in exposed or metric in recorded or metric == "up", (
                f"test {case['name']!r} feeds {metric}, which wirewatch does not expose"
            )
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    alerts = _alerts(rules)
    assert alerts, "no alerts in the rules file"
    assert not (firing | silent) - alerts, (
        f"tests name unknown alerts: {(firing | silent) - alerts}"
    )
    assert not alerts - firing, f"no test where these fire: {sorted(alerts - firing)}"
    assert not alerts - silent, f"no test where these stay silent: {sorted(alerts - silent)}"


def test_promtool_check_config(tmp_path, prom_config):
    promtool = _tool(PROMTOOL, "promtool", "prometheus")
    # The config names the rules where compose mounts them; point the copy at the
    # repository so that promtool loads and checks them too.
    config = dict(prom_config)
    config["rule_files"] = [
        str(RULES_DIR / PurePosixPath(p).relative_to("/etc/prometheus/rules"))
        for p in prom_config["rule_files"]
    ]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = _run(promtool, "check", "config", str(copy))
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(RULES_FILE) in result.stdout + result.stderr, "the rules were not loaded"


def test_promtool_check_rules():
    promtool = _tool(PROMTOOL, "promtool", "prometheus")
    result = _run(promtool, "check", "rules", str(RULES_FILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_unit_tests():
    promtool = _tool(PROMTOOL, "promtool", "prometheus")
    result = _run(promtool, "test", "rules", str(RULES_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_config(services):
    config = _yaml(ALERTMANAGER_CONFIG)
    receivers = {r["name"]: r for r in config["receivers"]}
    assert config["route"]["receiver"] in receivers
    for receiver in receivers.values():
        for hook in receiver.get("webhook_configs", []):
            host = re.match(r"https?://([^/:]+)", hook["url"]).group(1)
            assert host in services, f"webhook {hook['url']}: no service {host}"
    amtool = _tool(AMTOOL, "amtool", "prometheus-alertmanager")
    result = _run(amtool, "check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


# -- Grafana ---------------------------------------------------------------------------
def test_grafana_provisioning(services):
    (datasource,) = _yaml(GRAFANA_DATASOURCE)["datasources"]
    assert datasource["uid"] == "prometheus" and datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    assert "prometheus" in services
    (provider,) = _yaml(GRAFANA_PROVIDER)["providers"]
    assert provider["type"] == "file"


def test_dashboard_is_well_formed(dashboard):
    assert dashboard["uid"] and dashboard["title"]
    assert 36 <= dashboard["schemaVersion"] <= 41
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    targets = _dashboard_targets(dashboard)
    assert len(targets) >= 10
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, panel["title"]
        assert panel.get("targets"), f"panel {panel['title']!r} queries nothing"
    for panel, target in targets:
        assert target["expr"].strip(), panel["title"]
        assert target.get("datasource", panel["datasource"])["uid"] == "prometheus"


def test_dashboard_covers_the_pipeline(dashboard):
    exprs = " ".join(t["expr"] for _, t in _dashboard_targets(dashboard))
    for metric in (
        "wirewatch_files_seen_total",
        "wirewatch_files_published_total",
        "wirewatch_articles_processed_total",
        "wirewatch_consumer_lag_messages",
        "wirewatch_consumer_lag_seconds",
        "wirewatch_dlq_messages_total",
        "wirewatch_alerts_fired_total",
        "wirewatch_alerts_delivered_total",
        "wirewatch_alerts_failed_total",
        "wirewatch_indexer_bulk_size_bucket",
        "wirewatch_indexer_retries_total",
    ):
        assert metric in exprs, f"no panel shows {metric}"
    assert "histogram_quantile(0.99" in exprs and "histogram_quantile(0.5" in exprs


def test_dashboard_exprs_use_only_defined_metrics(dashboard, rules, exposed):
    recorded = _recorded(rules)
    problems = []
    for panel, target in _dashboard_targets(dashboard):
        problems += [
            f"{panel['title']!r}: {p}" for p in _unknown_names(target["expr"], exposed, recorded)
        ]
    assert not problems, "\n".join(problems)


def test_dashboard_exprs_parse(tmp_path, dashboard):
    promtool = _tool(PROMTOOL, "promtool", "prometheus")
    # promtool has no expression checker; each query becomes a recording rule.
    records = [
        {"record": f"dashboard:query{i}", "expr": target["expr"].replace("$__rate_interval", "5m")}
        for i, (_, target) in enumerate(_dashboard_targets(dashboard))
    ]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    result = _run(promtool, "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
