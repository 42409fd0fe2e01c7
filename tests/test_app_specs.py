"""The five bundled app specs carry the values their seed guides name (offline, no Pulumi)."""

from __future__ import annotations

import re

import pytest

from components.web_service import looks_secret
from stacks.spec import AppSpec, bundled_apps, load_app

APPS = ("compyle", "autopr", "copilot", "chat", "arches")
SEEDS = {"compyle": "000", "autopr": "001", "copilot": "002", "chat": "003", "arches": "004"}
# A value that itself looks like a credential: provider key prefixes, URLs with user:password@, PEM blocks.
_SECRET_VALUE = re.compile(r"(sk-[A-Za-z0-9]|sk-ant-|ghp_|github_pat_|xox[bp]-|AKIA[0-9A-Z]{12}|://[^/\s:@]+:[^/\s@]+@|-----BEGIN)")


@pytest.fixture(scope="module", params=APPS)
def app(request) -> AppSpec:
    return load_app(request.param)


def spec(name: str) -> AppSpec:
    return load_app(name)


# --- every bundled spec ---------------------------------------------------------------------------------------


def test_the_five_seed_apps_are_bundled():
    assert set(APPS) <= set(bundled_apps())


@pytest.mark.parametrize("name", bundled_apps())
def test_every_bundled_spec_loads(name):
    loaded = load_app(name)
    assert loaded.name == name


def test_name_and_seed(app):
    assert app.seed == SEEDS[app.name]


def test_no_env_value_looks_like_a_secret(app):
    for svc_name, svc in app.services.items():
        for key, value in svc.env.items():
            assert not looks_secret(key), f"{app.name}.{svc_name}.env.{key}"
            assert not _SECRET_VALUE.search(value), f"{app.name}.{svc_name}.env.{key}={value!r}"
            assert key not in app.secrets, f"{app.name}.{svc_name}.env.{key} is also a declared secret"


#: A citation of a guide line number ("004 L32-76", "L164"): users have the guide's sections, not its line numbers.
_LINE_CITATION = re.compile(r"\b\d{3} L\d+|\bL\d+\b")


@pytest.mark.parametrize("name", bundled_apps())
def test_no_bundled_spec_cites_guide_line_numbers(name):
    import yaml

    from stacks.spec import APPS_DIR

    text = (APPS_DIR / f"{name}.yaml").read_text()
    cited = [f"{name}.yaml:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if _LINE_CITATION.search(line)]
    assert not cited, "cite the guide section as «Section name» instead:\n" + "\n".join(cited)

    def strings(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield str(k)
                yield from strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)
        elif isinstance(node, str):
            yield node

    assert not [s for s in strings(yaml.safe_load(text)) if _LINE_CITATION.search(s)]


def test_line_citation_pattern():
    for cited in ("(004 L32-76, L164-250)", "002 L592: min 2", "see L66"):
        assert _LINE_CITATION.search(cited), cited
    for fine in ("«Horizontal Scaling»", "HTTP/1.1", "cache.t4g.small", "Balanced_B3", "TLSv1.2", "LLM"):
        assert not _LINE_CITATION.search(fine), fine


def test_every_route_targets_a_declared_service(app):
    assert app.routes
    for route in app.routes:
        assert route.service in app.services, (app.name, route.path, route.service)


def test_images_are_repositories_with_a_pinned_tag(app):
    for name, svc in app.services.items():
        assert ":" not in svc.image.rsplit("/", 1)[-1], f"{app.name}.{name}: tag belongs in `tag`"
        assert svc.tag and svc.tag != "latest", f"{app.name}.{name}"


def test_cors_is_never_a_wildcard(app):
    assert app.cors_origins
    for origin in app.cors_origins:
        assert origin != "*" and origin.startswith("https://"), origin


def test_user_supplied_api_keys_come_from_config_and_session_secrets_are_generated(app):
    for name, secret in app.secrets.items():
        if name.endswith("_API_KEY") or name in ("GITHUB_TOKEN", "GITHUB_CLIENT_SECRET", "GITHUB_APP_PRIVATE_KEY"):
            assert secret.source == "config", name
        if name in ("NEXTAUTH_SECRET", "JWT_SECRET", "JWT_REFRESH_SECRET", "SESSION_SECRET", "ENCRYPTION_KEY", "BETTER_AUTH_SECRET"):
            assert secret.source == "generated", name
            assert secret.length >= 32, name


def test_services_that_call_llms_may_reach_the_internet(app):
    for name, svc in app.services.items():
        if any(s in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY") for s in svc.secrets):
            assert svc.internet_egress, f"{app.name}.{name}"


def test_services_get_database_urls_only_by_uses(app):
    for svc in app.services.values():
        assert "DATABASE_URL" not in svc.env and "REDIS_URL" not in svc.env
        assert "DATABASE_URL" not in svc.secrets and "REDIS_URL" not in svc.secrets


# --- compyle (seed 000) ---------------------------------------------------------------------------------------


def test_compyle_fastapi():
    api = spec("compyle").services["fastapi"]
    assert api.port == 8000
    assert api.replicas == 3
    assert (api.cpu, api.cpu_limit, api.memory, api.memory_limit) == ("2", "4", "4Gi", "8Gi")
    assert api.health.path == "/health"
    assert (api.health.liveness.initial_delay_seconds, api.health.liveness.period_seconds) == (40, 30)
    assert (api.health.readiness.initial_delay_seconds, api.health.readiness.period_seconds) == (20, 10)
    assert api.internet_egress
    assert set(api.uses) == {"postgres", "redis"}
    assert "ANTHROPIC_API_KEY" in api.secrets
    assert api.secret_files == {"/app/secrets/github-app-key.pem": "GITHUB_APP_PRIVATE_KEY"}
    assert api.env["GITHUB_APP_PRIVATE_KEY_PATH"] == "/app/secrets/github-app-key.pem"
    (vol,) = api.volumes
    assert (vol.mount_path, vol.size, vol.storage_class) == ("/workspaces", "500Gi", "fast-ssd")
    assert api.env["WORKSPACE_ROOT"] == "/workspaces"


def test_compyle_nextjs():
    web = spec("compyle").services["nextjs"]
    assert web.port == 3000 and web.replicas == 2
    assert (web.cpu, web.cpu_limit, web.memory, web.memory_limit) == ("1", "2", "2Gi", "4Gi")
    assert web.health.path == "/api/health"
    assert (web.health.liveness.initial_delay_seconds, web.health.liveness.period_seconds) == (30, 30)
    assert web.env["FASTAPI_URL"] == "${services.fastapi.url}"
    assert web.env["NEXTAUTH_URL"] == "${url}"
    assert {"GITHUB_CLIENT_SECRET", "NEXTAUTH_SECRET"} <= set(web.secrets)


def test_compyle_routes_headers_and_stores():
    app = spec("compyle")
    routes = {r.path: r for r in app.routes}
    agents, stream, root = routes["/api/agents"], routes["/api/stream"], routes["/"]
    assert (agents.service, agents.timeout_seconds, agents.rate_limit_per_minute) == ("fastapi", 600, 60)
    assert agents.body_size == "100Mi"
    assert stream.service == "fastapi" and stream.streaming
    assert (root.service, root.rate_limit_per_minute) == ("nextjs", 100)
    assert app.headers.frame_options == "SAMEORIGIN"
    assert app.headers.hsts_max_age_seconds == 31536000
    assert "https://${domain}" in app.cors_origins
    assert app.secrets["NEXTAUTH_SECRET"].source == "generated" and app.secrets["NEXTAUTH_SECRET"].length == 64
    assert app.postgres.version == "15" and app.postgres.database == "compyle_prod"
    assert app.redis.version == "7" and app.redis.persistence
    assert app.backups.database.retention_days == 7
    assert len(app.backups.database.schedule.split()) == 5
    (weekly,) = app.backups.volumes
    assert (weekly.service, weekly.volume) == ("fastapi", "workspaces")
    assert weekly.schedule.split()[2:] == ["*", "*", "0"]  # once a week


# --- autopr (seed 001) ----------------------------------------------------------------------------------------


def test_autopr_engine():
    eng = spec("autopr").services["engine"]
    assert eng.port == 8080 and eng.replicas == 3
    assert (eng.cpu, eng.cpu_limit, eng.memory, eng.memory_limit) == ("1000m", "2000m", "2Gi", "4Gi")
    assert eng.health.path == "/api/health"
    live, ready = eng.health.liveness, eng.health.readiness
    assert (live.initial_delay_seconds, live.period_seconds, live.timeout_seconds, live.failure_threshold) == (30, 10, 5, 3)
    assert (ready.initial_delay_seconds, ready.period_seconds, ready.timeout_seconds, ready.failure_threshold) == (10, 5, 3, 3)
    assert eng.metrics.port == 9090 and eng.metrics.path == "/metrics"
    assert {"GITHUB_TOKEN", "OPENAI_API_KEY"} <= set(eng.secrets)
    assert eng.env["AUTOPR_ENV"] == "production" and eng.env["WORKFLOW_TIMEOUT"] == "300"


def test_autopr_hpa_behaviour():
    hpa = spec("autopr").services["engine"].autoscaling
    assert (hpa.min, hpa.max, hpa.cpu_percent, hpa.memory_percent) == (2, 10, 75, 80)
    assert hpa.scale_down.stabilization_window_seconds == 300
    assert [(p.type, p.value, p.period_seconds) for p in hpa.scale_down.policies] == [("Percent", 50, 60)]
    assert hpa.scale_up.stabilization_window_seconds == 0
    assert [(p.type, p.value, p.period_seconds) for p in hpa.scale_up.policies] == [("Percent", 100, 15), ("Pods", 2, 15)]


def test_autopr_stores_and_backups():
    app = spec("autopr")
    pg, rd = app.postgres, app.redis
    assert (pg.version, pg.size, pg.storage, pg.backup_window, pg.high_availability) == ("15", "small", "100Gi", "03:00-04:00", True)
    assert rd.version == "7" and rd.high_availability is True
    assert app.backups.database.retention_days == 30
    assert app.backups.database.schedule == "0 2 * * *"
    assert (app.backups.rpo_minutes, app.backups.rto_minutes) == (60, 240)
    (route,) = app.routes
    assert (route.path, route.service, route.rate_limit_per_minute) == ("/", "engine", 100)


# --- copilot (seed 002) ---------------------------------------------------------------------------------------


def test_copilot_api():
    api = spec("copilot").services["api"]
    assert api.image == "llmcopilot/api-server" and api.tag == "1.0.0"
    assert api.port == 8080 and api.replicas == 3
    assert (api.cpu, api.cpu_limit, api.memory, api.memory_limit) == ("250m", "1000m", "256Mi", "1Gi")
    assert api.health.path == "/health"
    assert (api.health.liveness.initial_delay_seconds, api.health.liveness.period_seconds) == (10, 10)
    assert (api.health.readiness.initial_delay_seconds, api.health.readiness.period_seconds) == (5, 5)
    startup = api.health.startup
    assert startup and (startup.period_seconds, startup.timeout_seconds, startup.failure_threshold) == (5, 3, 24)  # 2 minutes
    assert api.env["DEFAULT_MODEL"] == "claude-3-sonnet" and api.env["RATE_LIMIT_REQUESTS"] == "100"
    assert {"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "JWT_SECRET", "ENCRYPTION_KEY"} <= set(api.secrets)


def test_copilot_three_services_and_their_scaling():
    services = spec("copilot").services
    assert set(services) == {"api", "workflow", "context"}
    api, wf, ctx = (services[n].autoscaling for n in ("api", "workflow", "context"))
    assert (api.min, api.max, api.cpu_percent, api.memory_percent) == (3, 10, 70, 80)
    assert (wf.min, wf.max) == (2, 5)
    assert wf.queue and (wf.queue.list_name, wf.queue.target_length) == ("copilot:workflows", 100)
    assert "redis" in services["workflow"].uses
    assert (ctx.min, ctx.max, ctx.memory_percent) == (2, 5, 80)
    for name in ("workflow", "context"):
        assert "«Horizontal Scaling»" in services[name].description  # names the guide's scaling-table section


def test_copilot_stores_route_and_backups():
    app = spec("copilot")
    assert app.postgres.version == "16" and "vector" in app.postgres.extensions
    assert app.postgres.size == "medium" and app.postgres.storage == "100Gi"
    assert (app.redis.maxmemory, app.redis.maxmemory_policy, app.redis.persistence) == ("1Gi", "noeviction", True)
    (route,) = app.routes
    assert (route.service, route.timeout_seconds, route.body_size, route.rate_limit_per_minute) == ("api", 300, "50Mi", 100)
    assert app.backups.database.schedule == "0 2 * * *"
    assert app.secrets["JWT_SECRET"].length >= 32


# --- chat (seed 003) ------------------------------------------------------------------------------------------


def test_chat():
    app = spec("chat")
    backend, frontend = app.services["backend"], app.services["frontend"]
    assert backend.port == 8000 and backend.health.path == "/health"
    assert backend.replicas == 2 and frontend.replicas == 2
    assert backend.env["ENVIRONMENT"] == "production"
    assert "OPENAI_API_KEY" in backend.secrets and backend.internet_egress
    assert app.secrets["OPENAI_API_KEY"].source == "config"
    assert app.secrets["BETTER_AUTH_SECRET"].source == "generated" and app.secrets["BETTER_AUTH_SECRET"].length >= 32
    assert app.alerts.cpu_percent == 80
    assert (app.postgres.size, app.postgres.storage, app.postgres.backup_window) == ("small", "20Gi", "03:00-04:00")
    assert app.redis is None
    assert app.backups.database.retention_days == 7
    hour = int(app.backups.database.schedule.split()[1])
    assert 3 <= hour < 4
    assert any(r.service == "backend" for r in app.routes) and any(r.service == "frontend" for r in app.routes)


# --- arches (seed 004) ----------------------------------------------------------------------------------------


def test_arches_api():
    api = spec("arches").services["api"]
    assert api.port == 8080 and api.health.path == "/health"
    assert api.metrics.port == 9090 and api.metrics.path == "/metrics"
    assert api.env["DB_POOL_MAX"] == "50" and api.env["JWT_EXPIRY"] == "15m"
    assert {"JWT_SECRET", "JWT_REFRESH_SECRET", "SESSION_SECRET", "ENCRYPTION_KEY", "OPENAI_API_KEY"} <= set(api.secrets)
    assert "platform" in spec("arches").services


def test_arches_stores_headers_alerts_and_backups():
    app = spec("arches")
    pg = app.postgres
    assert pg.pooler and pg.pooler.mode == "transaction"
    assert (pg.pooler.default_pool_size, pg.pooler.max_client_connections) == (25, 1000)
    assert {"vector", "pg_stat_statements"} <= set(pg.extensions)
    assert pg.parameters["max_connections"] == "200"
    assert app.redis.high_availability is True
    assert (app.redis.maxmemory, app.redis.maxmemory_policy, app.redis.persistence) == ("2Gi", "allkeys-lru", True)
    assert app.headers.content_security_policy == "default-src 'self'"
    assert app.headers.frame_options == "SAMEORIGIN"
    assert app.alerts.error_rate_percent == 5.0
    assert app.alerts.latency_p95_seconds == 1.0
    assert app.alerts.memory_percent < 90  # 1000 MiB of the API's memory limit
    assert app.backups.database.schedule == "0 * * * *"
    assert app.backups.database.retention_days == 30
    assert app.backups.rpo_minutes <= 60 and app.backups.rto_minutes <= 60
