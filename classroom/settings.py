"""One class, as every command of the program sees it: its settings (config.py: the file, the environment,
the defaults) and where it keeps what.

    STATE_DIR  (build/classroom)    owner-only: configuration, hub database, cookie secret, passwords, the
                                    teacher's, proxy's and roster's tokens, accounts made, the proxy API's
                                    socket, lessons-build.git, logs (rotated by size: logpipe.py), pid files,
                                    the front door's files
    RUNTIME    (/opt/streamdemo-classroom as root)  read-only for students: hub venv, proxy, gonb/gopls/
                                    goimports, kernelspec, Go module cache, warmed build cache seed, caddy
    CLASS_VAR  (/var/lib/streamdemo-classroom/port-N as root)  lessons.git (world-readable: the published
                                    commits only), gitconfig (the students' git's), gateway/ (the gateway's
                                    account's alone: key, ledger, the sockets of the gateway and practice server)
"""
import os
import sys
from dataclasses import dataclass, field

from classroom import config
from classroom.config import Refused
from classroom.schema import REPO

HERE = os.path.join(REPO, "classroom")
# The class's local model (make classroom-model, model.py): only root and the gateway's account open it.
MODEL_SOCKET = "/run/streamdemo-classroom-model/ollama.sock"


def say(text):
    print(f"==> {text}", flush=True)


@dataclass(frozen=True)
class Class:
    values: dict  # every setting by key, as text ('' for none)
    environ: dict = field(repr=False)  # the caller's environment (HUB_DATABASE_URL, CONFIRM, DESTDIR... live there)

    def __getitem__(self, key):
        return self.values[key]

    @property
    def as_root(self):
        return os.geteuid() == 0

    @property
    def port(self):
        return int(self["port"])

    @property
    def dir(self):
        return os.path.abspath(self["state_dir"])

    @property
    def runtime(self):
        return os.path.abspath(self["runtime"])

    @property
    def var(self):
        return os.path.abspath(self["class_var"])

    @property
    def gateway_dir(self):
        return os.path.join(self.var, "gateway")

    @property
    def lessons(self):
        return os.path.join(self.var, "lessons.git")

    @property
    def practice_socket(self):
        return os.path.join(self.gateway_dir, "practice.sock")

    @property
    def hub_url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def venv_python(self):
        return os.path.join(self.runtime, "venv", "bin", "python")

    def state(self, name):
        """A file of the class's owner-only folder."""
        return os.path.join(self.dir, name)

    def pid_file(self, what):
        """What's pid file: jupyterhub, proxy, practice-server or caddy."""
        return self.state(f"{what}.pid")

    @property
    def teacher(self):
        return self["teacher"]

    @property
    def gateway_user(self):
        return self["gateway_user"]

    @property
    def student_group(self):
        return self["student_group"]

    @property
    def roster(self):
        return self["roster"]

    @property
    def frontdoor_wanted(self):
        """True if the class is served beyond this machine, through the HTTPS front door."""
        return self["host"] not in ("127.0.0.1", "localhost")

    @property
    def class_url(self):
        """The address students open: the hub's origin (students' servers and the teacher's page have origins
        of their own under it: origins.py)."""
        if not self.frontdoor_wanted:
            return f"http://localhost:{self.port}"
        host = f"[{self['host']}]" if ":" in self["host"] else self["host"]
        return f"https://{host}" if self["https_port"] == "443" else f"https://{host}:{self['https_port']}"

    @property
    def frontdoor_dir(self):
        return self.state("frontdoor")

    @property
    def class_ca(self):
        """The class's own CA's certificate, which students' browsers trust (when the class made one)."""
        return self.state("class-ca.crt")

    @property
    def class_ca_sha256(self):
        return self.state("class-ca.sha256")


def load(environ=None):
    """The class the environment names (CLASSROOM_DIR) with its effective settings."""
    environ = dict(os.environ if environ is None else environ)
    return Class({s.key: value for s, value, _ in config.effective(environ)}, environ)


def die(text):
    """Refused with one sentence: the program prints it as `classroom: ...` and exits 1."""
    raise Refused(text)


def python():
    """The Python running the program (python3 on PATH): for its own modules run as programs."""
    return sys.executable
