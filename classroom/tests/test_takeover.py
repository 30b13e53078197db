"""A class started by the shell scripts the class ran on before its program (commit 658bc61: up.sh, down.sh,
lib.sh, install.sh, publish.sh, frontdoor.sh) is taken over by the program with nothing lost. The scripts run
from a clone of that commit beside this checkout, sharing its tools; the class is served beyond loopback (a
laptop's address, netns.py) with its own CA. A student uses it (a request on the ledger, a notebook edit);
then make classroom keeps the running class and puts the shared runtime back as the program installs it,
make classroom-down stops every process the scripts started, and make classroom starts the class again with
the same accounts, passwords, notebook, ledger, published lessons and certificates. Run as root, under flock
/work/locks/classroom.lock."""
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import REPO, Class, certificates
from hubclient import Student
from netns import Laptop, sh
from test_classroom import account_processes, class_left
from test_restarts import Answer, descendants, gateway_pids, ledger, service_token

SCRIPTS = "658bc6151662edd0758e8ac609099554878fc8bf"  # the last commit whose class ran on shell scripts
HOST, HTTPS_PORT, HTTP_PORT = "198.18.6.1", 18343, 18380
URL = f"https://{HOST}:{HTTPS_PORT}"
STUDENT, TEACHER = "sdtake-ada", "sdtake-teacher"
STATE = os.path.join(REPO, "build", "classroom-takeover")
NOTEBOOK = "streamdemo/notebooks/01-streaming-chat-completion.ipynb"
NOTE = "# My notes, kept through the takeover\n"
RUNTIME = "/opt/streamdemo-classroom"
# What of the shared runtime the scripts' install.sh and the program's install write, by what each installed.
RUNTIME_FILES = ("bin/streamdemo", "bin/gonb", "bin/gopls", "bin/goimports", "bin/caddy", "supervisor/gonb-supervisor",
                 "proxy/.lock-stamp", "proxy/package.json", "venv/.lock-stamp", "go/.stamp",
                 "share/jupyter/kernels/gonb/kernel.json", "venv/etc/jupyter/jupyter_server_config.py",
                 "venv/share/jupyter/lab/settings/overrides.json")


def git(*args):
    return subprocess.run(["git", *args], capture_output=True, text=True)


def scripts_checkout(folder):
    """A repository of the scripts' commit's files in folder (closed to other accounts, as make classroom wants),
    sharing this checkout's pinned tools, so that its kernel-setup/install.sh finds everything current."""
    missing = git("-C", REPO, "cat-file", "-e", f"{SCRIPTS}^{{commit}}").returncode
    if missing:  # a shallow clone: that one commit from where it came
        try:
            missing = subprocess.run(["git", "-C", REPO, "fetch", "-q", "--depth=1", "origin", SCRIPTS], timeout=120,
                                     capture_output=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"}).returncode
        except subprocess.TimeoutExpired:
            pass
    if missing:
        pytest.fail(f"this checkout's history lacks commit {SCRIPTS} (the class's shell scripts): clone the "
                    "repository whole (not --depth), then run the test again")
    old = os.path.join(folder, "scripts")
    os.makedirs(old)
    tree = subprocess.run(["git", "-C", REPO, "archive", SCRIPTS], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", old], input=tree, check=True)
    ident = {**os.environ, **{f"GIT_{w}_{k}": v for w in ("AUTHOR", "COMMITTER")
                              for k, v in (("NAME", "teacher"), ("EMAIL", "teacher@school"))}}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", f"The class as of {SCRIPTS[:7]}"]):
        r = subprocess.run(["git", "-C", old, *args], capture_output=True, text=True, env=ident)
        assert r.returncode == 0, r.stderr
    # .tools/bin: this checkout's gonb, goimports and gopls (their stamps say ready); its own prewarm stamp.
    os.makedirs(os.path.join(old, ".tools"))
    os.symlink(os.path.join(REPO, ".tools", "bin"), os.path.join(old, ".tools", "bin"))
    # .venv: what kernel-setup/install.sh and classroom/install.sh read of it (a Python, the lock's stamp, the
    # GoNB kernelspec as install.sh registers it for that checkout), not a second venv.
    venv = os.path.join(old, ".venv")
    kernels = os.path.join(venv, "share", "jupyter", "kernels", "gonb")
    os.makedirs(os.path.join(venv, "bin"))
    os.makedirs(kernels)
    os.symlink(os.path.realpath(os.path.join(REPO, ".venv", "bin", "python")), os.path.join(venv, "bin", "python"))
    with open(os.path.join(old, "kernel-setup", "requirements.lock"), "rb") as f:
        lock = hashlib.sha256(f.read()).hexdigest()
    version = subprocess.run(["python3", "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True, check=True).stdout.strip()
    with open(os.path.join(venv, ".lock-stamp"), "w") as f:
        f.write(f"{lock} {version} {venv}\n")
    ours = os.path.join(REPO, ".venv", "share", "jupyter", "kernels", "gonb")
    for name in os.listdir(ours):
        if name.startswith("logo-"):
            shutil.copy(os.path.join(ours, name), kernels)
    with open(os.path.join(ours, "kernel.json")) as f:
        spec = f.read().replace(REPO, old)
    with open(os.path.join(kernels, "kernel.json"), "w") as f:
        f.write(spec)
    # The hub's venv from this checkout's lock (the scripts' lacks SystemdSpawner's line): else both installers
    # would build it again (~1 min each), under any other class running on this machine too.
    shutil.copy(os.path.join(REPO, "classroom", "requirements.lock"), os.path.join(old, "classroom"))
    return old


def runtime_state():
    """The hash of each of RUNTIME_FILES (None where missing)."""
    found = {}
    for name in RUNTIME_FILES:
        try:
            with open(os.path.join(RUNTIME, name), "rb") as f:
                found[name] = hashlib.sha256(f.read()).hexdigest()
        except FileNotFoundError:
            found[name] = None
    return found


def start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def pid_in(name):
    try:
        with open(os.path.join(STATE, name)) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def class_processes(c, old):
    """Every process of the class, by pid with its start time: below its pid files (hub, proxy, practice server,
    front door), its gateway, its accounts', and any naming the scripts' checkout or the class's folder (their
    log pipes)."""
    roots = [p for p in map(pid_in, ("jupyterhub.pid", "proxy.pid", "practice-server.pid", "caddy.pid")) if p]
    every = descendants(roots + gateway_pids(c))
    every |= {int(p.split()[0]) for p in account_processes(c.students + [TEACHER])}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                line = f.read().decode(errors="replace")
        except OSError:
            continue
        if old in line or STATE in line:
            every.add(int(pid))
    return {p: start_time(p) for p in every if start_time(p) and int(p) != os.getpid()}


def still_running(seen):
    """Those of seen (pid: start time) that run still, the same process (not a pid used again)."""
    left = []
    for pid, started in seen.items():
        try:
            with open(f"/proc/{pid}/status") as f:
                zombie = "State:\tZ" in f.read()
        except OSError:
            continue
        if start_time(pid) == started and not zombie:
            ps = subprocess.run(["ps", "-ww", "-o", "user=,args=", "-p", str(pid)], capture_output=True, text=True)
            left.append(f"{pid} {ps.stdout.strip()}")
    return left


def served_certificate():
    """The front door's certificate as openssl prints it (serial, issuer, dates)."""
    hello = subprocess.run(["openssl", "s_client", "-connect", f"{HOST}:{HTTPS_PORT}", "-servername", HOST], input="",
                           capture_output=True, text=True, timeout=20).stdout
    return subprocess.run(["openssl", "x509", "-noout", "-serial", "-issuer", "-dates"], input=hello,
                          capture_output=True, text=True).stdout


def lessons_tip(c):
    return git("--git-dir", c.lessons, "rev-parse", "refs/heads/main").stdout.strip()


def student(c, ca):
    """The student, through the front door, trusting the class's CA as it was handed out by the scripts."""
    s = Student(URL, STUDENT, c.password(STUDENT))
    s.http.verify, s.http.trust_env = ca, False
    return s.login()


def server_pids():
    return sorted(p.split()[0] for p in account_processes([STUDENT]) if "jupyterhub-singleuser" in p)


def kept(c):
    """What the class must keep: accounts, passwords, the ledger, certificates and the published lessons."""
    with open(os.path.join(STATE, "passwords")) as f:
        passwords = f.read()
    with open(os.path.join(STATE, "class-ca.sha256")) as f:
        fingerprint = f.read().strip()
    return {"accounts": {n: pwd.getpwnam(n)[2:4] for n in (STUDENT, TEACHER)}, "passwords": passwords,
            "ledger": ledger(c), "certificates": certificates(STATE), "class CA": fingerprint,
            "served certificate": served_certificate(), "lessons": lessons_tip(c)}


@pytest.fixture(scope="module")
def laptop():
    made = Laptop("fd-lap6", 6)  # this machine's end of its link is the class's address
    try:
        yield made
    finally:
        made.delete()
        shutil.rmtree(made.home, ignore_errors=True)


def test_a_class_started_by_the_scripts_is_taken_over_with_nothing_lost(laptop):
    folder = tempfile.mkdtemp(prefix="classroom-takeover-")
    c = Class(students=[STUDENT], teacher=TEACHER, state=STATE, first_port=18300)
    c.env.update(CLASSROOM_HOST=HOST, CLASSROOM_HTTPS_PORT=str(HTTPS_PORT), CLASSROOM_HTTP_PORT=str(HTTP_PORT))
    c.remove()  # whatever an interrupted earlier run left
    seen = {}
    try:
        old = scripts_checkout(folder)
        t0 = time.monotonic()
        r = subprocess.run(["make", "--no-print-directory", "-C", old, "classroom"], env=c.env, capture_output=True,
                           text=True, timeout=900)
        assert r.returncode == 0, f"the scripts' make classroom failed:\n{r.stdout[-2500:]}\n{r.stderr[-2500:]}"
        scripts_up = time.monotonic() - t0
        assert f"class ready: {URL}" in r.stdout, r.stdout[-1500:]
        assert os.path.exists(os.path.join(old, "classroom", "up.sh")), "the class was not started by the scripts"
        by_scripts = runtime_state()

        # The class in use: her notebook edited, a request on the ledger.
        ca = os.path.join(folder, "class-ca.crt")
        shutil.copy(os.path.join(STATE, "class-ca.crt"), ca)  # handed out to the students by the scripts' class
        ada = student(c, ca)
        ada.start_server()
        nb = ada.api("GET", f"contents/{NOTEBOOK}")
        nb["content"]["cells"][0]["source"] = NOTE
        ada.api("PUT", f"contents/{NOTEBOOK}", json={"type": "notebook", "content": nb["content"]})
        answer = Answer(c, service_token(ada))
        answer.run()
        assert answer.done, answer.error
        before = kept(c)
        assert before["ledger"][STUDENT]["requests"] == 1, before["ledger"]
        published = before["lessons"]
        running = {"the hub": pid_in("jupyterhub.pid"), "the front door": pid_in("caddy.pid"),
                   "the gateway": sorted(gateway_pids(c)), "her server": server_pids()}
        assert all(running.values()), running
        seen = class_processes(c, old)

        # The program over the running class: it keeps it, and puts the runtime back.
        t0 = time.monotonic()
        out = c.make("classroom")
        takeover = time.monotonic() - t0
        assert "the class is already running" in out, out[-1500:]
        now = {"the hub": pid_in("jupyterhub.pid"), "the front door": pid_in("caddy.pid"),
               "the gateway": sorted(gateway_pids(c)), "her server": server_pids()}
        assert now == running, f"make classroom did not keep the running class: {running} then {now}"
        assert ada.api("GET", f"contents/{NOTEBOOK}")["content"]["cells"][0]["source"] == NOTE
        by_program = runtime_state()
        changed = sorted(k for k in RUNTIME_FILES if by_scripts[k] != by_program[k])
        assert "bin/streamdemo" in changed and "proxy/.lock-stamp" in changed, \
            f"the program left the scripts' runtime as it was (changed: {changed})"
        assert not [k for k, v in by_program.items() if v is None], by_program
        taken = kept(c)
        kept_history = git("--git-dir", c.lessons, "merge-base", "--is-ancestor", published, taken["lessons"])
        assert kept_history.returncode == 0, "the lessons the scripts published are no longer in lessons.git's history"
        for what in before:
            if what not in ("lessons",):
                assert taken[what] == before[what], f"the {what} changed when the program took the class over"
        seen.update(class_processes(c, old))

        # make classroom-down stops every process the scripts started.
        t0 = time.monotonic()
        c.make("classroom-down")
        down = time.monotonic() - t0
        left = still_running({**seen, **class_processes(c, old)})
        assert not left, "make classroom-down left running:\n" + "\n".join(left)
        assert not class_left(c), class_left(c)
        listening = sh("ss", "-Hltn").stdout
        assert f"{HOST}:{HTTPS_PORT} " not in listening and f"{HOST}:{HTTP_PORT} " not in listening, listening

        # make classroom starts it again with everything the scripts' class had.
        t0 = time.monotonic()
        out = c.make("classroom")
        again = time.monotonic() - t0
        assert f"class ready: {URL}" in out, out[-1500:]
        for part in ("hub venv", "configurable-http-proxy", "Go module cache and warmed build cache"):
            assert f"==> {part}: ready" in out, f"the program's second start installed {part} again:\n{out[-2500:]}"
        assert runtime_state() == by_program, "the runtime the program put back was not as it keeps it"
        assert before["class CA"] in out, out[-1500:]
        after = kept(c)
        for what in before:
            assert after[what] == taken[what], f"the {what} changed when the program started the class again"
        ada = student(c, ca)  # her password, through the front door, trusting the CA the scripts handed out
        ada.start_server()
        assert ada.api("GET", f"contents/{NOTEBOOK}")["content"]["cells"][0]["source"] == NOTE
        code, said = laptop.curl("--cacert", ca, f"{URL}/hub/login")
        assert code == 200 and 'id="password_input"' in said, said[-800:]
        print(f"\nclassroom takeover: the scripts' make classroom {scripts_up:.0f} s (their install.sh included); "
              f"make classroom over it {takeover:.0f} s; make classroom-down {down:.0f} s; "
              f"make classroom {again:.0f} s")
    finally:
        c.remove()
        left = still_running(seen)  # what a down that failed left
        for line in left:
            subprocess.run(["kill", "-KILL", line.split()[0]], capture_output=True)
        if left:
            c.remove()  # the accounts of those processes
        os.unlink(c.roster)
        shutil.rmtree(folder, ignore_errors=True)
