"""The class's JupyterHub: its database, its start (with its proxy, the gateway as service "llm" and the idle
culler, all of which the hub starts) and what a hub stopped hard leaves running."""
import os
import shutil
import time
import urllib.error
import urllib.request

from classroom import config, ports, procs, sandbox, units
from classroom.settings import HERE, die, say

DATABASE_URL = "hub-database-url"  # owner-only, in the class's folder: the hub's configuration reads it


def keep_database(c):
    """The hub's database. HUB_DATABASE_URL (in the environment, never as a make argument: a command line is
    every account's to read) or the file HUB_DATABASE_URL_FILE names (owner-only) gives a URL, kept in the
    class's folder: no command line or environment of the class holds it. Without either the class keeps the
    database it has: SQLite in the class's folder at first."""
    url, named = c.environ.get("HUB_DATABASE_URL", ""), c["hub_database_url_file"]
    if named:
        if not os.access(named, os.R_OK):
            die(f"the hub database URL file {named} cannot be read: fix HUB_DATABASE_URL_FILE")
        config.owner_only(named, "the hub database URL file", f": chmod 600 {named}, then make classroom again")
        with open(named) as f:
            url = "".join(f.readline().split())
    if url:
        if not url.startswith(("postgresql+psycopg://", "sqlite:///")):
            die("the hub database URL must start with postgresql+psycopg:// (PostgreSQL through psycopg) or sqlite:///, "
                f"not {url.split(':')[0]}:")
        config.replace_file(c.state(DATABASE_URL), url + "\n")
    try:
        with open(c.state(DATABASE_URL)) as f:
            url = f.read().strip()
    except FileNotFoundError:
        return
    if not url:
        return
    rest = url.split("://", 1)[-1].split("@")[-1]  # no user or password in what is said
    if url.startswith("postgresql"):
        say(f"the hub's database: PostgreSQL at {rest.split('?')[0]}")
    else:
        say(f"the hub's database: SQLite at {url[len('sqlite:///'):]}")


def leftovers(c):
    """What a hub that stopped hard (killed, crashed) left running: the processes it started in the class's
    folder (its proxy, the idle culler) and this class's gateway (its folder is its cwd), unless systemd runs it.
    Students' servers are not among them: the next hub finds them running and keeps them."""
    found = []
    unit = f"/{units.service(c, 'gateway')}" if units.supervises(c) else None
    for pid, _ in procs.processes():
        cwd = procs.cwd_of(pid)
        if cwd == c.gateway_dir or (cwd == os.path.realpath(c.dir) and f"{c.runtime}/" in procs.cmdline_of(pid)):
            if not unit or unit not in procs.cgroup_of(pid):
                found.append(pid)
    return found


def stop_leftovers(c):
    """Stops them (SIGTERM, then SIGKILL after 10 s), so a new hub can take their ports."""
    pids = leftovers(c)
    if pids:
        procs.kill_all(pids)
        say(f"stopped {len(pids)} process(es) that a hub stopped hard had left running (its proxy, the gateway, services)")


def environment(c, up, socket, has_key):
    """The hub's whole environment: the class's settings, nothing else of the caller's (a key exported in the
    teacher's shell stays there); the hub reads its secrets from the owner-only files."""
    godir = os.path.dirname(os.path.realpath(shutil.which("go") or "/usr/local/go/bin/go"))
    return procs.clean_env(
        c.environ, "HOME",
        CLASSROOM_PORT=str(c.port), CLASSROOM_DIR=c.dir, CLASSROOM_RUNTIME=c.runtime,
        CLASSROOM_GATEWAY_DIR=c.gateway_dir, CLASSROOM_LESSONS=c.lessons, CLASSROOM_TEACHER=c.teacher,
        CLASSROOM_GATEWAY_USER=c.gateway_user, CLASSROOM_UPSTREAM_URL=up.url, CLASSROOM_UPSTREAM_SOCKET=socket,
        CLASSROOM_UPSTREAM_KEY="yes" if has_key else "", CLASSROOM_STUDENT_PROVIDER=up.provider,
        CLASSROOM_STUDENT_MODEL=up.model, CLASSROOM_STUDENT_PROTOCOL=up.protocol,
        CLASSROOM_UPSTREAM_AGENT_PATH=up.agent_path, CLASSROOM_UPSTREAM_AGENT_ONLY="yes" if up.agent_only else "",
        CLASSROOM_IDLE_TIMEOUT=c["idle_timeout"], CLASSROOM_GODIR=godir,
        CLASSROOM_GITCONFIG=os.path.join(c.var, "gitconfig"), CLASSROOM_PULL_TIMEOUT=c["pull_timeout"],
        CLASSROOM_GATEWAY_MODELS=c["gateway_models"] or up.model, CLASSROOM_JUPYTER_AI=c["jupyter_ai"],
        CLASSROOM_HOST=c["host"], CLASSROOM_HTTPS_PORT=c["https_port"],
        CLASSROOM_GATEWAY_UNIT_ENV=gateway_unit_env(c) if units.supervises(c) else "", **sandbox.limits(c))


def gateway_unit_env(c):
    """The gateway unit's environment file, which the hub's configuration writes (gateway_service.py)."""
    return c.state("gateway-unit.env")


def start_gateway(c):
    """Where systemd supervises the class, the gateway as a unit of its own (the hub knows it by its token)."""
    units.start(c, "gateway", [os.path.join(c.runtime, "bin", "streamdemo"), "gateway", "serve"], user=c.gateway_user,
                env_file=gateway_unit_env(c), cwd=c.gateway_dir,
                description=f"the LLM gateway of the streamdemo classroom on port {c.port}")


def command(c):
    """The hub from the venv the runtime's link points at now: it keeps that venv while it runs (runtime.py)."""
    venv = os.path.realpath(os.path.join(c.runtime, "venv"))
    return [os.path.join(venv, "bin", "jupyterhub"), "-f", os.path.join(HERE, "jupyterhub_config.py")]


def start(c, up, socket, has_key):
    """Starts the hub in the class's folder; returns once it answers, its ports are its own and the gateway
    answers through it."""
    try:
        os.unlink(os.path.join(c.var, "proxy", "api.sock"))  # a proxy killed hard leaves it; the next could not bind
    except FileNotFoundError:
        pass
    held = [f"{c.port}=the hub's public port", f"{c.port + 81}=the hub's own port"]
    # The class's TCP ports: any account could hold one first and be sent passwords, cookies and tokens.
    ports.free(held)
    log = c.state("jupyterhub.log")
    say(f"starting JupyterHub on {c.hub_url} (log: {log})")
    procs.start(command(c), pid_file=c.pid_file("jupyterhub"), log=log, log_max_bytes=c["log_max_bytes"],
                env=environment(c, up, socket, has_key), cwd=c.dir, log_python=c.venv_python)
    deadline = time.monotonic() + 60
    while not answers(f"{c.hub_url}/hub/api/"):
        if not procs.pid_of(c.pid_file("jupyterhub")):
            die(f"the hub stopped while starting, so the class is stopped again: see the end of {log}")
        if time.monotonic() > deadline:
            die(f"the hub did not answer on {c.hub_url} within 60 s, so the class is stopped again: see {log}")
        time.sleep(0.5)
    ports.held_by(os.getuid(), held)  # what answered is the hub's only if it holds the ports
    if units.supervises(c):
        start_gateway(c)
    # The proxy reaches the gateway through its socket, which only the gateway's account can make: a 401
    # without a token there is the gateway's.
    deadline, code = time.monotonic() + 30, 0
    while time.monotonic() < deadline:
        code = status_of(f"{c.hub_url}/services/llm/v1/models")
        if code in (200, 401, 403):
            return
        time.sleep(0.5)
    die(f"the gateway (hub service llm) did not answer (HTTP {code:03d}), so the class is stopped again: see {log}")


def status_of(url, timeout=2):
    """The HTTP status url answers with, 0 for none."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return 0


def answers(url):
    return status_of(url) == 200
