"""The hub's own database on PostgreSQL (make classroom HUB_DATABASE_URL_FILE=...): a class of one on a
throwaway PostgreSQL cluster run by an unprivileged account, password-protected; the hub keeps its users
there through a restart, and the password is on no command line, in no environment and in no log."""
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

from conftest import REPO, Class

STUDENT = "sdtest-pgada"
PASSWORD = "hub-db-Secret-4821"
STATE = os.path.join(REPO, "build", "classroom-test-pg")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin(name):
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None)
    if not found:
        pytest.fail(f"PostgreSQL's {name} is missing: run make postgres-setup")
    return found


class Cluster:
    """A PostgreSQL cluster in a temporary folder, run by nobody, a password for its one role."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sdtest-pg-")
        os.chmod(self.dir, 0o755)
        shutil.chown(self.dir, "nobody")
        self.port = free_port()
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(PASSWORD + "\n")
        shutil.chown(pwfile, "nobody")
        self.run("initdb", "-D", f"{self.dir}/data", "-U", "hub", "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8",
                 "--no-sync")
        os.unlink(pwfile)
        self.run("pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")
        self.url = f"postgresql+psycopg://hub:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def run(self, tool, *args):
        r = subprocess.run(["runuser", "-u", "nobody", "--", pg_bin(tool), *args], capture_output=True, text=True,
                           cwd=self.dir, timeout=120)
        assert r.returncode == 0, f"{tool}: {r.stdout}{r.stderr}"
        return r.stdout

    def query(self, sql):
        env = {"PGPASSWORD": PASSWORD, "PATH": "/usr/bin:/bin"}
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "hub", "-d", "postgres", "-tAc", sql],
                           capture_output=True, text=True, env=env, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout.split()

    def stop(self):
        subprocess.run(["runuser", "-u", "nobody", "--", pg_bin("pg_ctl"), "-D", f"{self.dir}/data", "-m", "immediate",
                        "stop"], capture_output=True, cwd=self.dir, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def readable_everywhere(secret):
    """Where the secret shows: any process's command line or environment, or a file of the class's state."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for what in ("cmdline", "environ"):
            try:
                if secret.encode() in open(f"/proc/{pid}/{what}", "rb").read():
                    found.append(f"/proc/{pid}/{what}")
            except OSError:
                pass
    for root, _, files in os.walk(STATE):
        for name in files:
            path = os.path.join(root, name)
            if path.endswith("hub-database-url"):
                continue  # the owner-only copy the hub reads
            try:
                if secret.encode() in open(path, "rb").read():
                    found.append(path)
            except OSError:
                pass
    return found


@pytest.fixture
def pg_class():
    if os.geteuid() != 0:
        pytest.fail("the classroom tests need root: they create Unix accounts, as a real class does")
    cluster, klass = Cluster(), None
    try:
        urlfile = os.path.join(cluster.dir, "hub-url")
        with open(urlfile, "w") as f:
            f.write(cluster.url + "\n")
        os.chmod(urlfile, 0o600)
        klass = Class(students=[STUDENT], teacher="sdtest-pgteach", state=STATE, first_port=8700)
        klass.remove()
        klass.env["HUB_DATABASE_URL_FILE"] = urlfile
        yield cluster, klass
    finally:
        if klass:
            klass.remove()
            os.unlink(klass.roster)
        cluster.stop()


def test_the_hub_keeps_its_users_in_postgresql_and_the_password_nowhere(pg_class):
    cluster, klass = pg_class
    out = klass.make("classroom")
    assert "the hub's database: PostgreSQL at 127.0.0.1:" in out, out[-1500:]
    assert PASSWORD not in out
    copy = os.path.join(STATE, "hub-database-url")
    assert os.stat(copy).st_mode & 0o777 == 0o600
    assert not os.path.exists(os.path.join(STATE, "jupyterhub.sqlite"))
    klass.student(STUDENT).start_server()
    assert STUDENT in cluster.query("SELECT name FROM users"), "the hub's users are not in PostgreSQL"
    assert not readable_everywhere(PASSWORD), readable_everywhere(PASSWORD)

    klass.make("classroom-down")
    klass.env.pop("HUB_DATABASE_URL_FILE")  # the class keeps the database it was given
    out = klass.make("classroom")
    assert "PostgreSQL" in out, out[-1500:]
    assert STUDENT in cluster.query("SELECT name FROM users")
    assert int(cluster.query("SELECT count(*) FROM users")[0]) >= 2  # the student and the teacher, from before
    klass.student(STUDENT)
    assert not os.path.exists(os.path.join(STATE, "jupyterhub.sqlite"))
    log = open(os.path.join(STATE, "jupyterhub.log")).read()
    assert PASSWORD not in log


def keep_database(env):
    """The hub database step of make classroom (hub.keep_database), as the class's program runs it."""
    src = ("import os, sys\nfrom classroom import config, hub, settings\nc = settings.load()\nos.makedirs(c.dir, exist_ok=True)\n"
           "try:\n    hub.keep_database(c)\nexcept config.Refused as e:\n    sys.exit(f'classroom: {e}')\n")
    return subprocess.run([sys.executable, "-c", src], env=env, cwd=REPO, capture_output=True, text=True)


def test_a_database_url_the_hub_cannot_use_stops_with_one_sentence(tmp_path):
    bad = tmp_path / "url"
    bad.write_text("postgresql://hub:pw-9913@127.0.0.1:1/postgres\n")
    os.chmod(bad, 0o644)
    env = dict(os.environ, HUB_DATABASE_URL_FILE=str(bad), CLASSROOM_DIR=str(tmp_path / "state"))
    r = keep_database(env)
    assert r.returncode and "chmod 600" in r.stderr and "pw-9913" not in r.stderr, r.stderr
    os.chmod(bad, 0o600)
    r = keep_database(env)
    assert r.returncode and "postgresql+psycopg://" in r.stderr and "pw-9913" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
