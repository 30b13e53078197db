"""Starts JupyterHub, of the chart's version, on the hub configuration that
Zero to JupyterHub renders from values.yaml, and prints what it made of it
as JSON: the services and their OAuth clients, the roles, the custom scopes,
the authenticator and a student's server environment.

The chart (its files/hub/jupyterhub_config.py) cannot be fetched here, so
chart_config restates the part of its logic that our values reach, in the
chart's order: singleuser.* onto KubeSpawner (extraEnv becomes
c.KubeSpawner.environment), the idle culler's service and role, hub.services
with their generated api tokens, hub.loadRoles, the generated secrets,
hub.config passed through class by class, then hub.extraConfig in key order.
Kubernetes is never reached: KUBECONFIG names a fake cluster.

    python hub_loads.py VALUES.yaml WORKDIR
"""
import asyncio
import json
import os
import re
import secrets
import sys

import yaml
from traitlets.config import Config


def camel(s):
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), s)


def dig(values, dotted, default=None):
    node = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def chart_config(values):
    """The traitlets config the chart's hub configuration makes of values."""
    c = Config()
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    c.JupyterHub.db_url = "sqlite://"  # hub.db.type sqlite-memory; the chart's default keeps a PVC file
    c.JupyterHub.cleanup_servers = False
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.auth_token = secrets.token_hex(32)  # the chart passes it from its Secret
    c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:9"  # proxy-api; never reached by initialize()
    c.KubeSpawner.namespace = "class"
    su = values.get("singleuser", {})
    for trait, key in (("environment", "extraEnv"), ("lifecycle_hooks", None), ("mem_limit", "memory.limit"),
                       ("mem_guarantee", "memory.guarantee"), ("cpu_limit", "cpu.limit"),
                       ("cpu_guarantee", "cpu.guarantee"), ("extra_labels", None), ("uid", None), ("fs_gid", None),
                       ("node_selector", None), ("init_containers", None), ("extra_pod_config", None)):
        value = dig(su, key or camel(trait))
        if value is not None:
            c.KubeSpawner[trait] = value
    if dig(su, "image.name"):
        c.KubeSpawner.image = f"{su['image']['name']}:{su['image']['tag']}"
    if "defaultUrl" in su:
        c.Spawner.default_url = su["defaultUrl"]
    c.JupyterHub.services, c.JupyterHub.load_roles = [], []
    if dig(values, "cull.enabled"):
        c.JupyterHub.services.append({"name": "jupyterhub-idle-culler", "command": [
            "python3", "-m", "jupyterhub_idle_culler", "--url=http://localhost:8081/hub/api",
            f"--timeout={dig(values, 'cull.timeout', 3600)}", f"--cull-every={dig(values, 'cull.every', 600)}"]})
        c.JupyterHub.load_roles.append({"name": "jupyterhub-idle-culler", "services": ["jupyterhub-idle-culler"],
                                        "scopes": ["list:users", "read:users:activity", "read:servers",
                                                   "delete:servers"]})
    for key, service in dig(values, "hub.services", {}).items():
        service = dict(service)
        service.setdefault("name", key)
        service.pop("apiToken", None)
        service["api_token"] = secrets.token_hex(32)  # the chart generates it into the hub Secret
        c.JupyterHub.services.append(service)
    for key, role in dig(values, "hub.loadRoles", {}).items():
        role = dict(role)
        role.setdefault("name", key)
        c.JupyterHub.load_roles.append(role)
    c.JupyterHub.cookie_secret = secrets.token_bytes(32)
    c.CryptKeeper.keys = [secrets.token_hex(32)]
    for section, cfg in dig(values, "hub.config", {}).items():
        if not section[:1].isupper():
            sys.exit(f"hub.config.{section} is not a Configurable class name: the chart's hub would stop")
        c[section].update(cfg)
    for key, code in sorted(dig(values, "hub.extraConfig", {}).items()):
        exec(compile(code, f"hub.extraConfig.{key}", "exec"), {"c": c, "get_config": lambda: c})
    return c


FAKE_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: fake, user: {token: not-a-token}}]
contexts: [{name: fake, context: {cluster: fake, user: fake, namespace: class}}]
current-context: fake
"""


async def start(values, workdir):
    from jupyterhub import orm
    from jupyterhub.app import JupyterHub
    from jupyterhub.utils import maybe_future

    kubeconfig = os.path.join(workdir, "kubeconfig")
    with open(kubeconfig, "w") as f:
        f.write(FAKE_KUBECONFIG)
    os.environ["KUBECONFIG"] = kubeconfig
    os.chdir(workdir)
    hub = JupyterHub(config=chart_config(values))
    hub.load_config_file = lambda *a, **k: None
    await hub.initialize([])
    db = hub.db
    clients = {cl.identifier: sorted(cl.allowed_scopes) for cl in db.query(orm.OAuthClient)}
    roles = {r.name: sorted(r.scopes) for r in db.query(orm.Role)}
    services = {s.name: {"oauth_client_id": s.oauth_client_id, "url": s.url} for s in db.query(orm.Service)}
    user = orm.User(name="ana")
    db.add(user)
    db.commit()
    ana = hub.users[user]
    spawner = ana.spawners[""]
    spawner.api_token = "the-server-token"
    env = spawner.get_env()
    allowed = await maybe_future(hub.authenticator.check_allowed("ana", None))
    return {
        "services": services,
        "oauth_clients": clients,
        "roles": roles,
        "role_users": {r.name: sorted(u.name for u in r.users) for r in db.query(orm.Role)},
        "custom_scopes": sorted(hub.custom_scopes),
        "authenticator": type(hub.authenticator).__module__ + "." + type(hub.authenticator).__name__,
        "allow_all": hub.authenticator.allow_all,
        "student_allowed": bool(allowed),
        "admin_users": sorted(hub.authenticator.admin_users),
        "spawner": type(spawner).__module__ + "." + type(spawner).__name__,
        "image": spawner.image,
        "env": {k: v for k, v in env.items() if not k.startswith("JUPYTERHUB_") or k == "JUPYTERHUB_API_TOKEN"},
        "server_token_scopes": sorted(spawner.server_token_scopes) if not callable(spawner.server_token_scopes)
        else "callable",
    }


def main():
    values_file, workdir = sys.argv[1:]
    with open(values_file) as f:
        values = yaml.safe_load(f)
    print(json.dumps(asyncio.run(start(values, workdir)), default=str))


if __name__ == "__main__":
    main()
