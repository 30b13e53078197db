"""The class's gateway as the hub's service "llm" (read by jupyterhub_config.py and up.py; stdlib only).

The hub runs it (a managed service, which the hub starts again when it ends), or, where systemd runs the
class, systemd does (its unit, streamdemo-classroom-llm-PORT.service, which up starts): the hub then knows it
as an external service by its token, and the gateway gets from the unit's root-only environment file, which
the hub's configuration writes, what a managed service gets from the hub. Everything comes from the hub's environment (CLASSROOM_*, hub.py).
"""
import json
import os

import origins
from unix_proxy import socket_url

NAME = origins.GATEWAY
CLIENT_ID = f"service-{NAME}"  # JupyterHub's OAuth client of a service


def prefix():
    return f"/services/{NAME}/"


def url(env):
    """Where the gateway listens: a socket in its own folder, which no other account can take first."""
    return socket_url(f"{env['CLASSROOM_GATEWAY_DIR']}/gateway.sock")


def page(env):
    """The teacher's page (origins.py)."""
    return origins.urls(env.get("CLASSROOM_HOST", "127.0.0.1"), int(env["CLASSROOM_PORT"]),
                        int(env.get("CLASSROOM_HTTPS_PORT", "443")))[1]


def environment(env):
    """What the gateway is told beyond the hub's own variables: where to listen, its page, its upstream."""
    said = {
        "JUPYTERHUB_SERVICE_URL": url(env),
        "JUPYTERHUB_SERVICE_PREFIX": prefix(),
        "JUPYTERHUB_OAUTH_CALLBACK_URL": page(env) + "oauth_callback",
        "STREAMDEMO_GATEWAY_UPSTREAM": env["CLASSROOM_UPSTREAM_URL"],
        "STREAMDEMO_GATEWAY_DATA": env["CLASSROOM_GATEWAY_DIR"],
    }
    if env.get("CLASSROOM_UPSTREAM_SOCKET"):  # the class's practice server or local model, on a socket of its own
        said["STREAMDEMO_GATEWAY_UPSTREAM_SOCKET"] = env["CLASSROOM_UPSTREAM_SOCKET"]
    if env.get("CLASSROOM_GATEWAY_MODELS"):  # the models students may ask for, until the teacher sets a list
        said["STREAMDEMO_GATEWAY_MODELS"] = env["CLASSROOM_GATEWAY_MODELS"]
    if env.get("CLASSROOM_UPSTREAM_AGENT_PATH"):  # an upstream whose Agent API answers at /v1/agent only
        said["STREAMDEMO_GATEWAY_AGENT_PATH"] = env["CLASSROOM_UPSTREAM_AGENT_PATH"]
    if env.get("CLASSROOM_UPSTREAM_AGENT_ONLY"):  # an upstream that answers only the Agent API
        said["STREAMDEMO_GATEWAY_AGENT_ONLY"] = "1"
    if env.get("CLASSROOM_UPSTREAM_KEY"):  # up.py wrote the key file; the hub looks at nothing in that folder
        said["STREAMDEMO_GATEWAY_KEY_FILE"] = f"{env['CLASSROOM_GATEWAY_DIR']}/upstream-key"
    return said


def service(env, as_root, token=None):
    """The hub's service entry: managed (the hub runs the gateway), or with token, external (systemd runs it)."""
    entry = {
        "name": NAME,
        "oauth_redirect_uri": page(env) + "oauth_callback",
        "oauth_no_confirm": True,
        # The teacher's page session (the gateway's OAuth token) may carry the teacher scope; the hub
        # intersects this with the user's own scopes, so only the teacher's session gets it.
        "oauth_client_allowed_scopes": ["custom:llm:teacher"],
    }
    if token:
        entry["api_token"] = token
        return entry
    entry.update(command=[f"{env['CLASSROOM_RUNTIME']}/bin/streamdemo", "gateway", "serve"],
                 cwd=env["CLASSROOM_GATEWAY_DIR"], environment=environment(env))
    if as_root:
        entry["user"] = env["CLASSROOM_GATEWAY_USER"]  # the only account that can read the key file
    return entry


def unit_environment(env, token):
    """The gateway's whole environment as its unit's file gives it: what the hub gives a managed service."""
    hub_api = f"http://127.0.0.1:{int(env['CLASSROOM_PORT']) + 81}/hub/api"
    return {**environment(env), "JUPYTERHUB_API_TOKEN": token, "JUPYTERHUB_API_URL": hub_api,
            "JUPYTERHUB_SERVICE_NAME": NAME, "JUPYTERHUB_CLIENT_ID": CLIENT_ID, "JUPYTERHUB_BASE_URL": "/",
            "JUPYTERHUB_PUBLIC_HUB_URL": origins.urls(env.get("CLASSROOM_HOST", "127.0.0.1"), int(env["CLASSROOM_PORT"]),
                                                      int(env.get("CLASSROOM_HTTPS_PORT", "443")))[0] + "/hub/",
            "JUPYTERHUB_OAUTH_SCOPES": json.dumps([f"access:services!service={NAME}"]),
            "JUPYTERHUB_OAUTH_ACCESS_SCOPES": json.dumps([f"access:services!service={NAME}"])}


def write_unit_environment(path, env, token):
    """The gateway unit's environment file (root's alone: systemd reads it), NAME="value" lines."""
    def quoted(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    text = "".join(f"{k}={quoted(v)}\n" for k, v in unit_environment(env, token).items())
    fd = os.open(f"{path}.tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(f"{path}.tmp", path)
