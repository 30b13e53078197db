"""The gateway as the hub's service "llm", as the class's hub configuration gives it: managed by the hub, or,
where systemd runs the class, external, known by its token, with its unit's environment file written by the
configuration: the same listening socket, page, upstream and OAuth settings, and what the hub gives a managed
service (its token, the hub's API, its name and OAuth client), in a file only root reads. Fast: the hub's
configuration is loaded, not run."""
import os
import stat
import subprocess

from test_sandbox import hub_config

TOKEN = "gateway-token-" + "x" * 20


def llm(services):
    return next(s for s in services if s["name"] == "llm")


def unit_environment(path):
    """The file's variables as a shell reads NAME="value" lines (systemd's EnvironmentFile quoting)."""
    out = subprocess.run(["env", "-i", "bash", "-c", 'set -a; . "$0"; env -0', path], capture_output=True,
                         check=True).stdout.decode()
    return dict(line.split("=", 1) for line in out.split("\0") if line and not line.startswith(("PWD=", "SHLVL=", "_=")))


def test_the_hub_runs_the_gateway_unless_systemd_does(tmp_path):
    managed = llm(hub_config(tmp_path, "local")["services"])
    assert managed["command"] == ["/rt/bin/streamdemo", "gateway", "serve"] and "api_token" not in managed
    assert managed["cwd"] == str(tmp_path / "var" / "gateway")
    env = managed["environment"]
    assert env["JUPYTERHUB_SERVICE_URL"].startswith("http+unix://") and env["STREAMDEMO_GATEWAY_UPSTREAM"] == "practice"
    assert not (tmp_path / "state" / "gateway-unit.env").exists()


def test_where_systemd_runs_the_gateway_the_hub_knows_it_by_its_token_and_its_unit_gets_a_managed_services_environment(
        tmp_path):
    managed = llm(hub_config(tmp_path, "local")["services"])
    state = tmp_path / "state"
    (state / "gateway-api-token").write_text(TOKEN + "\n")
    unit_env = state / "gateway-unit.env"
    external = llm(hub_config(tmp_path, "systemd", CLASSROOM_GATEWAY_UNIT_ENV=str(unit_env))["services"])
    assert external["api_token"] == TOKEN
    assert not {"command", "environment", "user", "cwd"} & set(external), external
    for key in ("oauth_redirect_uri", "oauth_no_confirm", "oauth_client_allowed_scopes"):
        assert external[key] == managed[key], key
    assert stat.S_IMODE(os.stat(unit_env).st_mode) == 0o600
    got = unit_environment(str(unit_env))
    assert {k: got[k] for k in managed["environment"]} == managed["environment"]
    assert got["JUPYTERHUB_API_TOKEN"] == TOKEN and got["JUPYTERHUB_API_URL"] == "http://127.0.0.1:8204/hub/api"
    assert got["JUPYTERHUB_SERVICE_NAME"] == "llm" and got["JUPYTERHUB_CLIENT_ID"] == "service-llm"
    assert got["JUPYTERHUB_PUBLIC_HUB_URL"] == "http://localhost:8123/hub/"  # the hub's public origin, as the hub says it
    assert got["JUPYTERHUB_OAUTH_SCOPES"] == '["access:services!service=llm"]'
