"""The class's own hub, started inside a booted systemd_host.Machine by the class's program: its accounts
(accounts.make), passwords (roster.sync), the students' slice (sandbox.prepare) and the hub's environment
(hub.environment) with the class's jupyterhub_config.py, the hub a unit of its own. Run inside the container
with the container hub's Python (build/systemd-hub/venv: the class's lock and SystemdSpawner):

    python systemd_class.py start STUDENT...     as root: the class up, its hub answering
    python systemd_class.py token STUDENT        logs in as her, starts her server, writes a token of hers
                                                 (her server only) to /root/STUDENT.token, 0600
    python systemd_class.py page TEACHER         her page through the front door (OAuth through the hub)
    python systemd_class.py visit STUDENT [NOTE]  with the class of CLASSROOM_DIR (started by its own units):
                                                 logs in with her handed-out password, starts her server,
                                                 saves NOTE in her notebook kept.ipynb if given, asks the
                                                 gateway once; prints what her notebook says and her ledger
                                                 (through the class's front door when it has one)

The runtime is this checkout's build: the container hub's venv and proxy (bound at HUB) and a streamdemo built
for the test (RUNTIME_BIN, bound at BIN), linked into the class's runtime folder, the venv's scripts naming the
venv's Python where every account reaches it (the tests close the checkout to other accounts).
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [REPO, HERE]
from classroom import accounts, hub, roster, sandbox, service, settings  # noqa: E402
from classroom.config import replace_file  # noqa: E402
from classroom.upstream import Upstream  # noqa: E402

BUILT = os.path.join(REPO, "build", "systemd-hub")
RUNTIME_BIN = os.path.join(REPO, "build", "class-runtime", "bin")  # streamdemo, built by the test
HUB, BIN = "/opt/sdsys-hub", "/opt/sd31-bin"  # where the test binds BUILT and RUNTIME_BIN
HUB_UNIT = "streamdemo-class-hub.service"
ENV_FILE = "/run/streamdemo-class-hub.env"  # root's: the hub's environment (no secret in it)


def the_class():
    return settings.load(dict(os.environ, CLASSROOM_DIR="/var/lib/sd31-class/state",
                              CLASS_VAR="/var/lib/sd31-class/var", CLASSROOM_RUNTIME="/opt/sd31-runtime"))


def runtime(folder):
    """The class's runtime folder from the bound build: the venv's scripts rewritten to name its Python at HUB."""
    os.makedirs(f"{folder}/venv/bin", exist_ok=True)
    os.symlink(f"{HUB}/proxy", f"{folder}/proxy")
    os.symlink(BIN, f"{folder}/bin")
    for name in os.listdir(f"{HUB}/venv"):
        if name != "bin":
            os.symlink(f"{HUB}/venv/{name}", f"{folder}/venv/{name}")
    built = f"#!{BUILT}/venv/bin/python"
    for name in os.listdir(f"{HUB}/venv/bin"):
        path, head = f"{HUB}/venv/bin/{name}", b""
        if os.path.isfile(path):
            with open(path, "rb") as f:
                head = f.read(len(built) + 1)
        if head == (built + "\n").encode():
            with open(path) as f:
                text = f.read()
            replace_file(f"{folder}/venv/bin/{name}", f"#!{HUB}/venv/bin/python" + text[len(built):], mode=0o755)
        else:
            os.symlink(path, f"{folder}/venv/bin/{name}")


def start(students):
    c = the_class()
    runtime(c.runtime)
    os.makedirs(c.dir, mode=0o700, exist_ok=True)
    for name in ("teacher-api-token", "proxy-auth-token", "roster-api-token", "gateway-api-token"):
        replace_file(c.state(name), os.urandom(24).hex() + "\n")
    roster.sync(c.dir, [c.teacher] + students)
    accounts.make(c, students)
    os.makedirs(c.gateway_dir, exist_ok=True)
    os.chmod(c.var, 0o755)
    os.chmod(c.gateway_dir, 0o700)
    os.chown(c.gateway_dir, *accounts.ids(c.gateway_user))
    replace_file(os.path.join(c.var, "gitconfig"), "", mode=0o644)
    sandbox.prepare(c)
    up = Upstream(url="http://127.0.0.1:9/v1", provider="openai", model="gpt-4o-mini", protocol="chat",
                  agent_path="", agent_only=False)  # nothing answers there: no cell of these tests asks it
    env = hub.environment(c, up, "", False)
    replace_file(ENV_FILE, "".join(service.env_line(k, v) for k, v in env.items()))
    subprocess.run(["systemd-run", f"--unit={HUB_UNIT}", f"--property=EnvironmentFile={ENV_FILE}",
                    f"--working-directory={c.dir}", "--property=Restart=always",
                    f"{HUB}/venv/bin/python", "-m", "jupyterhub", "-f", os.path.join(REPO, "classroom",
                                                                                   "jupyterhub_config.py")],
                   check=True)
    deadline = time.monotonic() + 90
    while hub.status_of(f"{c.hub_url}/hub/api/") != 200:
        if time.monotonic() > deadline:
            sys.exit(f"the class's hub did not answer within 90 s: journalctl -u {HUB_UNIT}")
        time.sleep(0.3)
    print(c.port)


def token(name):
    from hubclient import Student
    c = the_class()
    with open(c.state("passwords")) as f:
        password = dict(line.split(" ", 1) for line in f.read().splitlines())[name]
    student = Student(c.class_url, name, password, server=f"http://{name}.localhost:{c.port}").login()
    student.start_server()
    r = student.hub_api("POST", f"users/{name}/tokens", json={"scopes": [f"access:servers!user={name}"]})
    r.raise_for_status()
    replace_file(f"/root/{name}.token", r.json()["token"] + "\n")


def visit(name, note=None):
    """As a student would, in the class the units started: her password, her server, her notebook, one
    question through the gateway; then what the notebook and the gateway's ledger hold for her (JSON)."""
    import json
    import requests
    from hubclient import Student, resolve
    c = settings.load()
    with open(c.state("passwords")) as f:
        password = dict(line.split(" ", 1) for line in f.read().splitlines())[name]
    server = f"http://{name}.localhost:{c.port}"
    if c.frontdoor_wanted:  # through the front door over HTTPS, trusting the class's own CA as her browser does
        resolve(c["host"], "127.0.0.1")
        os.environ["REQUESTS_CA_BUNDLE"] = c.class_ca
        server = c.class_url.replace("://", f"://{name}.")
    student = Student(c.class_url, name, password, server=server).login()
    student.start_server()
    if note:
        student.api("PUT", "contents/kept.ipynb", json={"type": "notebook", "format": "json", "content": {
            "cells": [{"cell_type": "markdown", "metadata": {}, "source": note}], "metadata": {},
            "nbformat": 4, "nbformat_minor": 5}})
    try:
        kept = student.api("GET", "contents/kept.ipynb")["content"]["cells"][0]["source"]
    except requests.HTTPError as e:
        if e.response.status_code != 404:
            raise
        kept = None
    r = requests.post(f"{c.hub_url}/services/llm/v1/chat/completions", timeout=60,
                      headers={"Authorization": f"Bearer {student.gateway_token()}"},
                      json={"model": "sonar-pro", "messages": [{"role": "user", "content": "Hello?"}]})
    r.raise_for_status()
    with open(c.state("teacher-api-token")) as f:
        teacher = f.read().strip()
    usage = requests.get(f"{c.hub_url}/services/llm/usage", timeout=30, headers={"Authorization": f"Bearer {teacher}"})
    usage.raise_for_status()
    mine = [s for s in usage.json()["students"] if s["name"] == name]
    print(json.dumps({"notebook": kept, "ledger": mine[0] if mine else None}))


def page(name):
    """As the teacher would, in the class the units started: her password, then her page through the front door
    (its OAuth login through the hub); prints where she ended, its status and whether it is her page (JSON)."""
    import json
    from classroom import origins
    from hubclient import Student, resolve
    c = settings.load()
    with open(c.state("passwords")) as f:
        password = dict(line.split(" ", 1) for line in f.read().splitlines())[name]
    resolve(c["host"], "127.0.0.1")
    os.environ["REQUESTS_CA_BUNDLE"] = c.class_ca
    teacher = Student(c.class_url, name, password).login()
    url = origins.urls(c["host"], c.port, int(c["https_port"]))[1]
    r = teacher.http.get(url, timeout=60)
    print(json.dumps({"asked": url, "url": r.url, "status": r.status_code, "page": 'id="students"' in r.text}))


if __name__ == "__main__":
    if sys.argv[1] == "start":
        start(sys.argv[2:])
    elif sys.argv[1] == "visit":
        visit(*sys.argv[2:4])
    elif sys.argv[1] == "page":
        page(sys.argv[2])
    else:
        token(sys.argv[2])
