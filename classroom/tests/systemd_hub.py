"""A minimal JupyterHub with SystemdSpawner, installed in a booted systemd_host.Machine: its configuration
(each student's server a unit with a memory, task and CPU limit, a /tmp of its own and the system
read-only but for her home), its unit (enabled at boot, restarted when it dies), and a client that
speaks to it from inside the container (whose network has only loopback). For the tests and figures of
the systemd side; the class's own configuration stays in classroom/.

    machine = Machine(name, binds=[(BUILT, HUB)])
    hub = Hub.install(machine, ["sdsys-ada"], Limits(memory=1 << 30, tasks=64, cpu_weight=50))
    hub.spawn("sdsys-ada")
    hub.cell("sdsys-ada", "print(1)")     # run in her server's kernel, as her browser would
"""
import json
import os
import secrets
import time
from dataclasses import dataclass

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILT = os.path.join(REPO, "build", "systemd-hub")  # the venv and proxy, made by make systemd-container-setup
# Where they are inside the container (bind BUILT there): a folder every account can reach, wherever the
# repository is. The venv is used through its python (-m), so its scripts' first lines never matter.
HUB = "/opt/sdsys-hub"
VENV = f"{HUB}/venv"
CELL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel_cell.py")
TOKEN = "/etc/sdsys-hub/api-token"  # the test's service's token, root's alone inside the container
HEADER = "/etc/sdsys-hub/api-header"  # the same, as curl reads a header from a file (never a command line)


@dataclass
class Limits:
    """A student's limits: bytes of memory, tasks (processes and threads), CPU weight (100: an equal share);
    and all students' together (the slice their servers run in), so that they cannot starve the hub."""
    memory: int
    tasks: int
    cpu_weight: int
    all_memory: int = 1 << 30
    all_tasks: int = 1024


SLICE = "sdsys-students.slice"  # systemd reads the dash as nesting: /sdsys.slice/sdsys-students.slice


CONFIG = """
c.JupyterHub.ip = c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = "sqlite:////var/lib/sdsys-hub/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "/var/lib/sdsys-hub/cookie_secret"
c.ConfigurableHTTPProxy.command = ["{hub}/proxy/node_modules/.bin/configurable-http-proxy"]
c.JupyterHub.authenticator_class = "null"  # nobody logs in: the test's service starts the servers
c.JupyterHub.services = [{{"name": "sdsys-test", "api_token": open("{token}").read().strip()}}]
c.JupyterHub.load_roles = [{{"name": "sdsys-test", "services": ["sdsys-test"],
                            "scopes": ["admin:users", "admin:servers", "access:servers"]}}]
c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
c.Spawner.cmd = ["{venv}/bin/python", "-m", "jupyterhub.singleuser"]
c.SystemdSpawner.mem_limit = "{memory_mib}M"
c.SystemdSpawner.unit_extra_properties = {{"TasksMax": "{tasks}", "CPUWeight": "{cpu_weight}"}}
c.SystemdSpawner.slice = "{slice}"
c.SystemdSpawner.isolate_tmp = True  # PrivateTmp=yes: a /tmp and /var/tmp of her server's own
c.SystemdSpawner.isolate_devices = True  # PrivateDevices=yes
c.SystemdSpawner.readonly_paths = ["/"]  # ReadOnlyPaths=/ ...
c.SystemdSpawner.readwrite_paths = ["/home/{{USERNAME}}"]  # ... but for her home
"""

SLICE_UNIT = """[Unit]
Description=the students' servers of the systemd tests, all together

[Slice]
MemoryMax={all_memory}
TasksMax={all_tasks}
"""

UNIT = f"""[Unit]
Description=JupyterHub of the systemd tests
After=network.target

[Service]
ExecStart={VENV}/bin/python -m jupyterhub -f /etc/sdsys-hub/jupyterhub_config.py
WorkingDirectory=/var/lib/sdsys-hub
StateDirectory=sdsys-hub
Environment=PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
"""


class Hub:
    """The hub of a booted Machine, spoken to from inside it (its network has only loopback)."""

    def __init__(self, machine):
        self.m = machine

    @classmethod
    def install(cls, machine, students, limits):
        """Makes the students' accounts (homes 0700), writes the hub's configuration, token and unit,
        enables and starts it, and waits until it answers; returns the Hub."""
        for user in students:
            machine.run("useradd", "--create-home", "--shell", "/bin/bash", user)
            machine.run("chmod", "700", f"/home/{user}")
        token = secrets.token_hex(32)
        machine.write(TOKEN, token + "\n", mode=0o600)
        machine.write(HEADER, f"Authorization: token {token}\n", mode=0o600)
        machine.write("/etc/sdsys-hub/jupyterhub_config.py", CONFIG.format(
            hub=HUB, venv=VENV, token=TOKEN, memory_mib=limits.memory >> 20, tasks=limits.tasks,
            cpu_weight=limits.cpu_weight, slice=SLICE))
        machine.write(f"/etc/systemd/system/{SLICE}", SLICE_UNIT.format(all_memory=limits.all_memory,
                                                                        all_tasks=limits.all_tasks))
        machine.write("/etc/systemd/system/sdsys-hub.service", UNIT)
        machine.systemctl("enable", "--now", "sdsys-hub")
        hub = cls(machine)
        hub.wait_up()
        for user in students:
            hub.api("POST", f"/users/{user}")
        return hub

    def api(self, method, path, expect=(200, 201, 202, 204)):
        """Calls the hub's REST API as the test's service; returns the JSON answer."""
        r = self.m.run("curl", "-sS", "-m", "30", "-X", method, "-H", f"@{HEADER}",
                       "-w", "\n%{http_code}", f"http://127.0.0.1:8081/hub/api{path}", check=False)
        body, _, code = r.stdout.rpartition("\n")
        if not code.isdigit() or int(code) not in expect:
            raise RuntimeError(f"{method} {path}: {code} {body} {r.stderr}\n{self.log()}")
        return json.loads(body) if body.strip() else None

    def log(self, lines=40):
        """The end of the hub's log (the journal's)."""
        return self.m.run("journalctl", "-u", "sdsys-hub", "-n", str(lines), "--no-pager", check=False).stdout

    def wait_up(self, timeout=90):
        """Waits until the hub's API answers (after a start, a restart or a boot)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.m.run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:8081/hub/api/",
                           check=False)
            if r.stdout == "200":
                return
            time.sleep(0.3)
        raise RuntimeError(f"the hub did not answer within {timeout} s:\n{self.log()}")

    def spawn(self, user, timeout=90):
        """Starts the student's server and waits until the hub says it is ready."""
        self.api("POST", f"/users/{user}/server")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.api("GET", f"/users/{user}")["servers"].get("")
            if server and server["ready"]:
                return
            time.sleep(0.3)
        raise RuntimeError(f"{user}'s server was not ready within {timeout} s:\n{self.log()}")

    def through_proxy(self, user):
        """The HTTP status of the student's server's API, reached through the hub's proxy."""
        return self.m.run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"@{HEADER}",
                          f"http://127.0.0.1:8000/user/{user}/api/status", check=False).stdout

    def cell(self, user, code, timeout=120):
        """Runs a cell in the student's server; returns [(arrival time, text)] and how it ended."""
        return cell(self.m, f"{VENV}/bin/python", "http://127.0.0.1:8000", user, TOKEN, code, timeout)


def cell(machine, python, base, user, token_file, code, timeout=120):
    """Runs a cell in the student's server at base (inside machine, with python, her token in token_file);
    returns [(arrival time, text)] and how it ended."""
    with open(CELL) as f:  # its source on the command line (no secret in it): no bind of the repository needed
        client = f.read()
    r = machine.run(python, "-c", client, base, user, token_file, input=code, timeout=timeout + 30)
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    return [(x["t"], x["text"]) for x in lines if "text" in x], lines[-1].get("end")


def oom_kills(machine, unit_name):
    """How many of the unit's processes the kernel killed for memory (its memory cgroup's count)."""
    with open(machine.unit_cgroup(unit_name, "memory") + "/memory.oom_control") as f:
        return int(dict(line.split() for line in f.read().splitlines())["oom_kill"])


def unit(user):
    """The name of a student's server's unit (SystemdSpawner's default template)."""
    return f"jupyter-{user}-singleuser.service"
