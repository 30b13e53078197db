"""python3 -m classroom up (make classroom): installs what is missing, makes the roster's accounts and
passwords, publishes the lesson, starts the hub (with its proxy, the gateway as service "llm" and the idle
culler) and returns once the class answers. Run again after editing the roster: new students are added,
dropped ones lose their login, tokens and the gateway, and the running class keeps going. A start that fails
stops what it started; a class that was already running keeps running."""
import dataclasses
import os
import pwd
import secrets
import signal
import subprocess
import sys

from classroom import (accounts, config, firewall, frontdoor, hub, jupyternaut, lessons, practice, procs, roster,
                       runtime, sandbox, settings, units, upstream, upstream_key)
from classroom.accounts import as_gateway
from classroom.schema import REPO
from classroom.settings import MODEL_SOCKET, die, say

TOKENS = ("teacher-api-token", "proxy-auth-token", "roster-api-token", "gateway-api-token")


def main(args):
    if args:
        die("usage: python3 -m classroom up (its settings: python3 -m classroom config show)")
    c = settings.load()
    if not c.as_root:
        print(f"\n!!! TRY-OUT MODE (not root): every student runs as {pwd.getpwuid(os.getuid()).pw_name}, so students"
              " can read each other's files and the upstream key. Run as root for a real class. !!!\n",
              file=sys.stderr, flush=True)
    started = []
    try:
        start(c, started)
    except BaseException:
        undo(c, started)
        raise


def start(c, started):
    jupyternaut.switch(c["jupyter_ai"])
    sandbox.spawner_of(c)  # a spawner this machine cannot run is refused before anything is installed
    runtime.install(c)
    frontdoor.check(c)
    checkout_closed(c)
    students = roster_of(c)
    state(c)
    dropped = roster.sync(c.dir, [c.teacher] + students)
    hub.keep_database(c)
    if c.as_root:
        accounts.make(c, students)
    class_var(c)
    up, socket, has_key = gateway_upstream(c, started)
    lessons.publish(c)
    sandbox.prepare(c)
    if procs.pid_of(c.pid_file("jupyterhub")):
        say(f"the class is already running at {c.hub_url} (roster and passwords updated; stop it with: "
            "make classroom-down)")
    else:
        hub.stop_leftovers(c)
        started.append("jupyterhub")
        hub.start(c, up, socket, has_key)
    # The roster is the truth for the hub and the gateway too; a dropped student's processes end.
    roster.hub(c.dir, c.hub_url)
    if c.as_root:
        for name in dropped:
            for pid in procs.account_pids(name):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    if not procs.pid_of(c.pid_file("caddy")):
        started.append("caddy")
    frontdoor.start(c)
    config.replace_file(c.state("class-url"), c.class_url + "\n")
    ready(c, students, up, socket)


def undo(c, started):
    for what in reversed(started):
        procs.stop_file(c.pid_file(what), what, quiet=True)
        if what == "jupyterhub":
            procs.stop_file(c.pid_file("proxy"), "proxy", quiet=True)
        if units.supervises(c) and what in ("jupyterhub", "practice-server"):
            units.stop(c, "gateway" if what == "jupyterhub" else "practice")
    if c.as_root and not procs.pid_of(c.pid_file("jupyterhub")):
        firewall.remove(c.port)


def checkout_closed(c):
    """Refuses a checkout other accounts can enter when the solutions are withheld: every commit in its .git
    holds them too, so only a checkout no other account can enter keeps them."""
    if not c.as_root or c["solutions"] != "withhold":
        return
    if subprocess.run(["runuser", "-u", "nobody", "--", "test", "-x", REPO], capture_output=True).returncode == 0:
        die(f"every account of this machine can enter this checkout ({REPO}), so students could read the withheld "
            f"solutions (in notebooks/ and in every commit of .git): close it (chmod 700 {REPO}, or a folder above it), "
            "then make classroom again")


def roster_of(c):
    try:
        students = roster.roster_names(c.roster)
    except FileNotFoundError:
        die(f"no roster at {c.roster}: write one student name per line, or set ROSTER=FILE")
    except roster.BadName as e:
        die(str(e))
    if not students:
        die(f"the roster {c.roster} names no student")
    if c.teacher in students:
        die(f"the roster names the teacher's login '{c.teacher}' as a student: rename one (TEACHER=...)")
    return students


def state(c):
    """The owner-only folder and the teacher's, proxy's and roster's tokens; the teacher's as a header line too,
    for curl -H @FILE (a token never goes on a command line)."""
    os.makedirs(c.dir, exist_ok=True)
    os.chmod(c.dir, 0o700)
    for name in TOKENS:
        path = c.state(name)
        if not (os.path.exists(path) and os.path.getsize(path)):
            config.replace_file(path, secrets.token_urlsafe(32) + "\n")
        os.chmod(path, 0o600)
    with open(c.state("teacher-api-token")) as f:
        token = f.read().strip()
    config.replace_file(c.state("teacher-api-header"), f"Authorization: token {token}\n")


def class_var(c):
    """The class's public folder, the gateway's own, and the students' git configuration (lessons.git, root's,
    is safe to pull from)."""
    os.makedirs(c.gateway_dir, exist_ok=True)
    os.chmod(c.var, 0o755)
    os.chmod(c.gateway_dir, 0o700)
    if c.as_root:
        os.chown(c.gateway_dir, *accounts.ids(c.gateway_user))
    config.replace_file(os.path.join(c.var, "gitconfig"),
                        f"[safe]\n\tdirectory = {c.lessons}\n[include]\n\tpath = /etc/gitconfig\n", mode=0o644)


def local_model_url(c):
    """make model-start's local model (one user's): every account of the machine can call it on its port."""
    return f"http://127.0.0.1:{c['ollama_port']}/v1"


def is_local_model(c, url):
    return upstream.on_port(url, c["ollama_port"])


def class_model(c):
    """True if the class's local model answers through its socket (asked as the gateway's account)."""
    if not c.as_root:
        return False
    return subprocess.run(as_gateway(c, ["curl", "-fsS", "-m", "5", "-o", "/dev/null", "--unix-socket", MODEL_SOCKET,
                                         "http://localhost/v1/models"]), capture_output=True).returncode == 0


def say_model_slots(c):
    try:
        with open(os.path.join(os.path.dirname(MODEL_SOCKET), "slots")) as f:
            slots = f.read().strip()
    except OSError:
        slots = ""
    if slots:
        say(f"local model: {slots} students answered at once (parallel slots)")
    else:
        say(f"local model: make model-start's server on {local_model_url(c)} (a try-out class: every account can call it)")


def gateway_upstream(c, started):
    """Where the gateway sends questions: the teacher's UPSTREAM_URL; else Perplexity with a key, else the class's
    local model if it answers, else the class's practice server. The class's own two listen on sockets only the
    gateway's account (and root) opens: a loopback port would answer every student, and any could take it first.
    Returns (the Go library's answer, the gateway's socket, whether it has a key)."""
    key = upstream_key.read(upstream_key.file_of(c))
    url = c["upstream_url"]
    if not url and not key:
        if class_model(c):
            url = "local"
        elif not c.as_root and hub.answers(f"{local_model_url(c)}/models"):
            url = local_model_url(c)
        else:
            url = "practice"
    if c.as_root and is_local_model(c, url):
        die(f"UPSTREAM_URL names make model-start's local model, which every account of this machine can call on "
            f"{local_model_url(c)}: run make classroom-model (the class's own, behind a socket), then make classroom "
            "with UPSTREAM_URL=local or unset")
    try:
        up = upstream.resolve(os.path.join(c.runtime, "bin", "streamdemo"), url, c["student_provider"],
                              c["student_model"], key, c.gateway_user if c.as_root else "")
    except upstream.Refused as e:
        die(str(e))
    api = {("responses", ""): "the Agent API"}.get((up.protocol, up.agent_path))
    if not api:
        api = f"the Agent API at /{up.agent_path}" if up.protocol == "responses" else "chat completions"
    say(f"upstream {up.url}: {up.provider}, model {up.model}, {api}")
    socket = ""
    if up.url == "practice":
        socket = c.practice_socket
        key, was_started = practice.ensure(c)
        if was_started:
            started.append("practice-server")
    elif up.url == "local":
        if not class_model(c):
            die(f"UPSTREAM_URL=local names the class's local model, which does not answer through {MODEL_SOCKET}: "
                "run make classroom-model first")
        socket = MODEL_SOCKET
        say_model_slots(c)
    elif is_local_model(c, up.url):
        say_model_slots(c)
    if socket:
        up = dataclasses.replace(up, url=practice.BASE)
    # Whether the gateway gets a key file is decided here, from what this program knows: root never looks
    # into the gateway's folder.
    if key:
        upstream_key.write(c, key)
    else:
        upstream_key.remove(c)
    # A teacher's own upstream on this machine without a key would answer any student: a firewall rule of the
    # class's lets only the gateway's account (and root) reach its port, until the class stops.
    if c.as_root:
        if not key and not socket and "perplexity" not in up.url:
            firewall.install(c.port, up.url, c.gateway_user)
        else:
            firewall.remove(c.port)
    return up, socket, bool(key)


def ready(c, students, up, socket):
    def origins(*args):
        code, text = frontdoor.origins(c, *args)
        if code:
            die(text)
        return text

    page = origins("urls", c["host"], str(c.port), c["https_port"]).splitlines()[1]
    say(f"class ready: {c.class_url}  ({len(students)} students; upstream {up.url}"
        f"{f' through unix:{socket}' if socket else ''} through the gateway at {c.hub_url}/services/llm/)")
    say(f"logins and passwords to hand out: {c.state('passwords')}  (teacher: {c.teacher}, hub admin)")
    say(f"teacher's page: {page}   API token for scripts: {c.state('teacher-api-token')}")
    say(f"students' own laptops: STREAMDEMO_BASE_URL={origins('laptops', c['host'], str(c.port), c['https_port'])}"
        f" and a token each makes at {c.class_url}/hub/token")
    say(origins("separation", c["host"], str(c.port), c["https_port"]))
    if c["jupyter_ai"] == "on":
        say("Jupyternaut (jupyter-ai's chat) in every student's JupyterLab: each server holds ~300 MiB with it, "
            "~90 MiB without (JUPYTER_AI=off)")
    say("status: make classroom-status   stop: make classroom-down")
