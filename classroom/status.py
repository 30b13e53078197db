"""python3 -m classroom status (make classroom-status): says what of the class runs: hub, front door, proxy,
practice server, local model, gateway, students' servers and kernels; where systemd runs the class, its units
too (restarts, and each student's server's memory and tasks against her limits)."""
import json
import os
import subprocess
import urllib.request

from classroom import frontdoor, hub, procs, sandbox, settings, units
from classroom.settings import HERE, MODEL_SOCKET, die, say


def main(args):
    if args:
        die("usage: python3 -m classroom status")
    c = settings.load()
    pid = procs.pid_of(c.pid_file("jupyterhub"))
    unit = units.show([units.hub(c)], ("ActiveState", "NRestarts")).get(units.hub(c))
    if not pid:
        say(f"the class on {c.hub_url} is not running (start it: make classroom)" if not unit else
            f"the class on {c.hub_url} is not running: its unit {units.hub(c)} is {unit['ActiveState']} "
            f"(journalctl -u {units.hub(c)}; start it: systemctl start {units.hub(c)})")
        return
    by = f"; unit {units.hub(c)}, {units.restarts(unit)}" if unit else ""
    say(f"hub: running (pid {pid}{by}) at {c.hub_url}")
    line = frontdoor.status(c)
    if line:
        say(line)
    if pid := procs.pid_of(c.pid_file("proxy")):
        say(f"proxy: running (pid {pid})")
    services = units.show([units.service(c, w) for w in ("practice", "gateway")], ("ActiveState", "MainPID", "NRestarts"))
    practice = services.get(units.service(c, "practice"))
    if practice:
        say(f"practice server (upstream): {service_state(practice)} on unix:{c.practice_socket}")
    elif pid := procs.pid_of(c.pid_file("practice-server")):
        say(f"practice server (upstream): running (pid {pid}) on unix:{c.practice_socket}")
    if c.as_root and os.path.exists(MODEL_SOCKET):
        model = subprocess.run(["python3", os.path.join(HERE, "model.py"), "status"], capture_output=True, text=True)
        say(f"the class's local model: {model.stdout.strip()}")
    code = hub.status_of(f"{c.hub_url}/services/llm/v1/models", timeout=3)
    gateway = services.get(units.service(c, "gateway"))
    by = f" ({service_state(gateway)})" if gateway else ""
    say(f"gateway (service llm): {'answering' if code in (200, 401) else f'not answering (HTTP {code:03d})'}{by}")
    try:
        with open(c.state("teacher-api-token")) as f:
            token = f.read().strip()
    except OSError:
        say("no teacher API token to ask the hub for users")
        return
    req = urllib.request.Request(f"{c.hub_url}/hub/api/users", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        users = json.load(r)
    up = [u["name"] for u in users if u.get("servers", {}).get("", {}).get("ready")]
    say(f"users: {len(users)}; servers running: {len(up)}" + (f" ({','.join(up)})" if up else ""))
    if sandbox.spawner_of(c) == "systemd":
        students_units(c)
    gonb = os.path.join(c.runtime, "bin", "gonb") + " --kernel"
    kernels = sum(1 for p, _ in procs.processes() if gonb in procs.cmdline_of(p))
    say(f"Go kernels running: {kernels}")


def service_state(unit):
    """"running (pid 812; unit NAME, restarted once)", or the unit's state when it does not run."""
    if unit.get("ActiveState") == "active":
        return f"running (pid {unit['MainPID']}; unit {unit['Id']}, {units.restarts(unit)})"
    return f"{unit.get('ActiveState', 'unknown')} (unit {unit['Id']}; journalctl -u {unit['Id']})"


def students_units(c):
    """Each student's server as a unit of the students' slice, then the slice: memory and tasks against limits."""
    name = sandbox.slice_name(c)
    for u in units.servers(name):
        say(f"  {u['student']}: {u['ActiveState']}, {units.usage(u)} ({u['Id']})")
    together = units.show([name], units.USAGE).get(name)
    if together:
        say(f"students together ({name}): {units.usage(together)}")
