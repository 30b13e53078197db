"""A class of three, started with `make classroom` on loopback ports of its
own, from a roster of its own, and removed (accounts, homes, state) at the
end. Run as root, as CI does: the tests then check real Unix accounts."""
import contextlib
import glob
import hashlib
import os
import shutil
import pwd
import socket
import subprocess
import sys
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.dirname(__file__))
from hubclient import Student  # noqa: E402
from spy import Scanner, SecretWatch  # noqa: E402

STUDENTS = ["sdtest-ada", "sdtest-bo", "sdtest-cy", "sdtest-dee"]
TEACHER = "sdtest-teacher"
OUTSIDER = "sdtest-scan"  # an account of the machine that is in no class: a shell, nothing more
PULL_TIMEOUT = 10  # seconds a student's lesson pull may take (60 in a real class)
STATE = os.path.join(REPO, "build", "classroom-test")


def certificates(state):
    """A class's certificates and keys under its state folder (the class CA's, the front door's), by hash."""
    found = {}
    for pattern in ("**/*.pem", "**/*.crt", "**/*.key"):
        for path in glob.glob(os.path.join(state, pattern), recursive=True):
            with open(path, "rb") as f:
                found[path] = hashlib.sha256(f.read()).hexdigest()
    return found


MODEL_RUN = "/run/streamdemo-classroom-model"  # the class's local model (classroom/model.py)
MODEL_PORT = {}  # the port make model-start's kind of server would take instead (OLLAMA_PORT), while one runs


def class_model_started():
    """make classroom-model, as a teacher runs it (OLLAMA_PORT a free port of its own, should it need one)."""
    MODEL_PORT["port"] = port = free_port()
    r = subprocess.run(["make", "--no-print-directory", "-C", REPO, "classroom-model"], capture_output=True, text=True,
                       timeout=900, env=dict(os.environ, OLLAMA_PORT=str(port)))
    if r.returncode:
        class_model_stopped()
        pytest.fail(f"make classroom-model failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r.stdout


def class_model_stopped():
    subprocess.run(["make", "--no-print-directory", "-C", REPO, "classroom-model-stop"], capture_output=True, timeout=120)
    if "port" in MODEL_PORT:  # a class model of the kind make model-start runs, on that port
        subprocess.run(["bash", f"{REPO}/kernel-setup/model-server.sh", "stop"], capture_output=True, timeout=120,
                       env=dict(os.environ, OLLAMA_PORT=str(MODEL_PORT.pop("port"))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def class_port(start=8400):
    """A base port whose class ports (P, P+1, P+2, P+81, P+90) are all free."""
    for base in range(start, start + 600, 100):
        if all(port_free(base + d) for d in (0, 1, 2, 81, 90)):
            return base
    raise RuntimeError(f"no free loopback ports for a test class between {start} and {start + 600}")


class Class:
    """A class of its own (roster, state folder, ports), started and removed through the Makefile."""

    def __init__(self, students=STUDENTS, teacher=TEACHER, state=STATE, first_port=8400):
        if os.geteuid() != 0:
            pytest.fail("the classroom tests need root: they create Unix accounts, as a real class does")
        self.students, self.state = students, state
        self.port = class_port(first_port)
        self.base = f"http://127.0.0.1:{self.port}"  # the proxy, as programs on the class machine reach it
        self.url = f"http://localhost:{self.port}"  # the hub's origin, as the teacher and students open it
        self.teacher_page = f"http://llm--service.localhost:{self.port}/services/llm/"
        os.makedirs(state, exist_ok=True)
        self.roster = state + ".roster"
        with open(self.roster, "w") as f:
            f.write("\n".join(students) + "\n")
        self.env = dict(os.environ, ROSTER=self.roster, CLASSROOM_PORT=str(self.port), CLASSROOM_DIR=state,
                        TEACHER=teacher, UPSTREAM_URL="practice", SOLUTIONS="withhold", PULL_TIMEOUT=str(PULL_TIMEOUT))
        self.env.pop("MAKEFLAGS", None)
        self.gateway_dir = f"/var/lib/streamdemo-classroom/port-{self.port}/gateway"
        self.lessons = f"/var/lib/streamdemo-classroom/port-{self.port}/lessons.git"
        self.watch, self.scanners, self.student_scanner = None, [], None

    def make(self, target, **extra):
        """Runs a make target for this class; returns its output, failing the test if it fails."""
        r = subprocess.run(["make", "--no-print-directory", "-C", REPO, target], env=dict(self.env, **extra),
                           capture_output=True, text=True, timeout=600)
        if r.returncode:
            log = os.path.join(self.state, "jupyterhub.log")
            tail = open(log, errors="replace").read()[-3000:] if os.path.exists(log) else ""
            pytest.fail(f"make {target} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}\nthe hub's log ends:\n{tail}")
        if target == "classroom" and self.watch and not (self.student_scanner and self.student_scanner.alive()):
            # A student reads what they can of every process (python3 -m classroom down ends it with the class's processes).
            self.student_scanner = Scanner(self.students[0])
            self.scanners.append(self.student_scanner)
        return r.stdout + r.stderr

    def leaks(self):
        """Every class secret some scanner read, but a student's own."""
        found = []
        for s in self.scanners:
            found += [f"{s.account} read the {f}" for f in self.watch.found_in(s, own_uid=None if s.account == OUTSIDER else s.uid)]
        return found

    def remove(self):
        """Removes the class: its processes, accounts, homes and state (the roster file stays)."""
        subprocess.run(["python3", "-m", "classroom", "remove"], env=dict(self.env, CONFIRM="yes"), cwd=REPO,
                       capture_output=True, timeout=300)

    def password(self, name):
        with open(os.path.join(self.state, "passwords")) as f:
            return dict(line.split() for line in f)[name]

    def server(self, name):
        """The origin of name's server: one of its own (origins.py)."""
        return f"http://{name}.localhost:{self.port}"

    def student(self, name):
        return Student(self.url, name, self.password(name), server=self.server(name)).login()

    def teacher_token(self):
        return open(os.path.join(self.state, "teacher-api-token")).read().strip()

    def usage_report(self):
        """The gateway's usage report (GET /usage, as the teacher's scripts)."""
        import requests
        r = requests.get(f"{self.base}/services/llm/usage", headers={"Authorization": f"Bearer {self.teacher_token()}"})
        r.raise_for_status()
        return r.json()

    def usage(self):
        return {s["name"]: s for s in self.usage_report()["students"]}

    def upstream_key(self):
        return open(os.path.join(self.gateway_dir, "upstream-key")).read().strip()

    @contextlib.contextmanager
    def gateway_blocked(self):
        """The gateway cannot start while this lasts: a folder of root's where its socket goes."""
        blocker = os.path.join(self.gateway_dir, "gateway.sock")
        if os.path.lexists(blocker) and not os.path.isdir(blocker):
            os.unlink(blocker)  # a socket a stopped gateway left
        os.makedirs(blocker, exist_ok=True)
        try:
            yield
        finally:
            shutil.rmtree(blocker, ignore_errors=True)


def account_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture(scope="session", autouse=True)
def private_checkout():
    """make classroom refuses a checkout other accounts can enter (they could read the withheld solutions in
    it): the tests' checkout is closed for the run, as a teacher's must be, and opened again after."""
    mode = os.stat(REPO).st_mode & 0o777
    os.chmod(REPO, mode & 0o700)
    try:
        yield
    finally:
        os.chmod(REPO, mode)


@pytest.fixture(scope="session")
def klass():
    c = Class()
    c.remove()  # whatever an interrupted earlier run left
    if account_exists(OUTSIDER):
        subprocess.run(["userdel", OUTSIDER], check=True)
    subprocess.run(["useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", OUTSIDER],
                   check=True)
    try:
        c.watch = SecretWatch(c)
        c.scanners.append(Scanner(OUTSIDER))  # from before the first make classroom to after the remove
        c.started = c.make("classroom")
        yield c
        c.remove()
        c.removed = True
        time.sleep(1)  # the scanners' last rounds
        leaks = c.leaks()
        assert not leaks, "while the class was removed or earlier: " + "; ".join(leaks)
    finally:
        for s in c.scanners:
            s.remove()
        if c.watch:
            c.watch.stop()
        if not getattr(c, "removed", False):
            c.remove()
        subprocess.run(["userdel", OUTSIDER])
        os.unlink(c.roster)
