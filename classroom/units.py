"""The class's units where systemd runs the machine: its services started as units of their own (the gateway,
the practice server), and what systemd says of the units for status (the hub's, the front door's, the
services', and each student's server with her limits where the systemd spawner runs them)."""
import os
import subprocess

from classroom.config import Refused

RUNS = "/run/systemd/system"  # exists when systemd is PID 1 (sd_booted)
SERVERS = "jupyter-*-singleuser.service"  # SystemdSpawner's unit names (its default template)
USAGE = ("ActiveState", "MainPID", "MemoryCurrent", "MemoryMax", "TasksCurrent", "TasksMax")


def hub(c):
    return f"streamdemo-classroom-{c.port}.service"


def frontdoor(c):
    return f"streamdemo-classroom-frontdoor-{c.port}.service"


def show(names, properties):
    """{unit: {property: value}} for those of names systemd knows of; {} where systemd does not run the machine."""
    if not names or not os.path.isdir(RUNS):
        return {}
    r = subprocess.run(["systemctl", "show", "-p", ",".join(("Id", "LoadState") + tuple(properties)), "--", *names],
                       capture_output=True, text=True)
    shown = {}
    for block in r.stdout.split("\n\n"):
        values = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if values.get("Id") and values.get("LoadState") != "not-found":
            shown[values["Id"]] = values
    return shown


def servers(slice_name):
    """The students' servers in slice_name, each {student, Id, ActiveState, usage and limits}, by student."""
    if not os.path.isdir(RUNS):
        return []
    r = subprocess.run(["systemctl", "list-units", "--all", "--no-legend", "--plain", "--type=service", SERVERS],
                       capture_output=True, text=True)
    names = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    mine = [u for u in show(names, ("Slice",) + USAGE).values() if u.get("Slice") == slice_name]
    for u in mine:
        u["student"] = u["Id"][len("jupyter-"):-len("-singleuser.service")]
    return sorted(mine, key=lambda u: u["student"])


def restarts(unit):
    """"restarted 2 times", "restarted once", "never restarted": systemd's NRestarts, for a teacher."""
    n = unit.get("NRestarts", "0")
    return {"0": "never restarted", "1": "restarted once"}.get(n, f"restarted {n} times")


def size(value):
    """A byte count as systemd shows it, for a teacher: 143M, 1.0G; "no limit" for infinity, "?" when unknown."""
    if value == "infinity":
        return "no limit"
    if not value.isdigit() or int(value) >= 1 << 63:  # systemd's "unset"
        return "?"
    n = int(value)
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f}{unit}" if unit == "G" else f"{n >> shift}{unit}"
    return f"{n}B"


def usage(u):
    """"memory 143M of 1.0G, tasks 12 of 64" from a unit's USAGE properties."""
    tasks = u.get("TasksCurrent", "")
    tasks = tasks if tasks.isdigit() and int(tasks) < 1 << 63 else "?"  # systemd's "unset"
    return (f"memory {size(u.get('MemoryCurrent', ''))} of {size(u.get('MemoryMax', ''))}, "
            f"tasks {tasks} of {u.get('TasksMax', '?').replace('infinity', 'no limit')}")


def supervises(c):
    """True where systemd runs the machine and the class runs as root: the class's own services (the gateway,
    the practice server) are then units of their own, which systemd starts again whenever they end."""
    return c.as_root and os.path.isdir(RUNS)


def service(c, what):
    """The unit of one of the class's services: gateway or practice."""
    return f"streamdemo-classroom-{what}-{c.port}.service"


def start(c, what, argv, *, user, env_file, cwd, description):
    """(Re)starts argv as the transient unit service(c, what), as user in cwd, its environment from env_file (root's
    alone: systemd reads it, so no secret is on a command line), started again 1 s after it ends, however often."""
    name = service(c, what)
    stop(c, what)
    r = subprocess.run(["systemd-run", "--quiet", f"--unit={name}", f"--description={description}", f"--uid={user}",
                        f"--working-directory={cwd}", f"--property=EnvironmentFile={env_file}",
                        "--property=Restart=always", "--property=RestartSec=1", "--property=StartLimitIntervalSec=0",
                        "--", *argv], capture_output=True, text=True)
    if r.returncode:
        raise Refused(f"systemd did not start {description} ({r.stderr.strip()[-200:]}): see journalctl -u {name}")


def active(c, what):
    return subprocess.run(["systemctl", "is-active", "--quiet", service(c, what)]).returncode == 0


def stop(c, what):
    """Stops the unit, and forgets it if it failed (a transient unit of that name can then be started again)."""
    for argv in (["systemctl", "stop", service(c, what)], ["systemctl", "reset-failed", service(c, what)]):
        subprocess.run(argv, capture_output=True)
