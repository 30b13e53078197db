"""What systemd says of the class's units (systemctl show), for status: the hub's, the front door's, and each
student's server with her limits where the systemd spawner runs them."""
import os
import subprocess

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
