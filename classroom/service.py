"""python3 -m classroom service (make classroom-service): the class as systemd units, enabled at boot. The hub's
unit runs `up` and `down`: the hub with its proxy and idle culler, started again when the hub fails; `up` starts
the gateway and the practice server as units of their own (units.py); a class beyond loopback gets its front
door's unit. The
units read the class's configuration file, into which this call first writes the settings its environment
gives; their root-only environment file names only where that file is (CLASSROOM_DIR) and PATH, HOME, LANG.

Where systemd does not run the machine it says so and installs nothing; DESTDIR=DIR writes the units under DIR
anyway. Either way the units written are checked with systemd-analyze verify."""
import os
import shutil
import subprocess

from classroom import config, settings, units
from classroom.schema import BY_ENV, REPO, SETTINGS
from classroom.settings import die, say

UNIT_DIR = "/etc/systemd/system"
KEPT = ("PATH", "HOME", "LANG")  # of the caller's environment, beside the class's settings


def names(c):
    return units.hub(c), units.frontdoor(c), f"/etc/streamdemo-classroom/port-{c.port}.env"


def env_line(name, value):
    """NAME="value" for systemd's EnvironmentFile (quotes and backslashes escaped)."""
    value = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}="{value}"\n'


def keep_settings(c, frontdoor_unit):
    """The settings this call was given in its environment go into the class's configuration file, which the
    units read: a later `config set` then takes effect at the unit's next start. Returns the class as the file
    now says."""
    given = [f"{s.key}={c.environ[s.env]}" for s in SETTINGS if s.in_file and c.environ.get(s.env)]
    config.set_values(given + [f"frontdoor_unit={frontdoor_unit}"], c.environ)
    return settings.load({k: v for k, v in c.environ.items() if k not in BY_ENV or not BY_ENV[k].in_file})


def environment_file(c):
    """Where the class's configuration is (CLASSROOM_DIR), and the caller's PATH, HOME and LANG: nothing else."""
    return env_line("CLASSROOM_DIR", os.path.realpath(c.dir)) + "".join(
        env_line(n, c.environ[n]) for n in KEPT if c.environ.get(n))


def program(command):
    """The class's program as a unit runs it: the class's python3 (from PATH), the package from the checkout
    (PYTHONPATH) and never from the working folder (-P)."""
    return f"/usr/bin/env python3 -P -m classroom {command}"


def hub_unit(c, env_file):
    """Type=forking: up returns once the class answers, the hub's pid in its file."""
    return f"""[Unit]
Description=streamdemo classroom on port {c.port} (JupyterHub, its proxy, the gateway)
Documentation=file://{REPO}/docs/classroom/howto-systemd.md
After=network-online.target
Wants=network-online.target

[Service]
Type=forking
EnvironmentFile={env_file}
Environment=PYTHONPATH={REPO}
PIDFile={os.path.realpath(c.dir)}/jupyterhub.pid
ExecStart={program("up")}
ExecStop={program("down")}
Restart=on-failure
RestartSec=5
# The first start installs the runtime (minutes); a stop waits for every student server.
TimeoutStartSec=30min
TimeoutStopSec=2min

[Install]
WantedBy=multi-user.target
"""


def frontdoor_unit(c, env_file, hub):
    """Caddy in the foreground, started again whenever it stops; ordered after the hub's unit, and stopped and
    restarted with it (PartOf). up writes its configuration, then asks systemd to start it."""
    return f"""[Unit]
Description=streamdemo classroom front door for the class on port {c.port} (HTTPS at {c.class_url})
Documentation=file://{REPO}/docs/classroom/howto-network.md
After=network-online.target {hub}
Wants=network-online.target
PartOf={hub}

[Service]
Type=simple
EnvironmentFile={env_file}
Environment=PYTHONPATH={REPO}
ExecStart={program("frontdoor run")}
ExecStartPost={program("frontdoor ready")}
ExecReload={program("frontdoor reload")}
Restart=always
RestartSec=2
TimeoutStartSec=2min

[Install]
WantedBy=multi-user.target
"""


def write_unit(dest, name, text):
    """The unit file, and its link in multi-user.target.wants (what systemctl enable makes)."""
    wants = f"{dest}{UNIT_DIR}/multi-user.target.wants"
    os.makedirs(wants, exist_ok=True)
    config.replace_file(f"{dest}{UNIT_DIR}/{name}", text, mode=0o644)
    link = f"{wants}/{name}"
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(f"{UNIT_DIR}/{name}", link)
    return f"{dest}{UNIT_DIR}/{name}"


def unwrite_unit(dest, name):
    for path in (f"{dest}{UNIT_DIR}/{name}", f"{dest}{UNIT_DIR}/multi-user.target.wants/{name}"):
        if os.path.lexists(path):
            os.unlink(path)


def verify(written):
    """systemd-analyze verify exits 0 on unknown keys and bad values (it ignores them): any word of it is a
    refusal here."""
    if not shutil.which("systemd-analyze"):
        say("the units were not checked: systemd-analyze is missing (Debian: apt-get install systemd)")
        return
    r = subprocess.run(["systemd-analyze", "verify", *written], capture_output=True, text=True)
    said = (r.stdout + r.stderr).strip()
    if r.returncode or said:
        die(f"systemd-analyze verify found fault with the units ({' '.join(written)}), so none was enabled: {said}")
    say("units checked with systemd-analyze verify")


def main(args):
    if args:
        die("usage: python3 -m classroom service (DESTDIR=DIR writes the units under DIR)")
    c = settings.load()
    dest = c.environ.get("DESTDIR", "")
    if not dest:
        if not os.path.isdir("/run/systemd/system"):
            pid1 = subprocess.run(["ps", "-p", "1", "-o", "comm="], capture_output=True, text=True).stdout.strip()
            say(f"systemd does not run this machine (PID 1 is {pid1 or 'unknown'}), so no unit was installed: after a "
                "crash or a reboot, make classroom brings the class back (DESTDIR=DIR writes the units under DIR to "
                "look at)")
            return
        if not c.as_root:
            die("installing the class's systemd units needs root: run make classroom-service as root (or DESTDIR=DIR "
                "to write them elsewhere)")
    if not os.path.isfile(c.roster):
        die(f"no roster at {c.roster}: write one student name per line, or set ROSTER=FILE")
    hub, door, env_file = names(c)
    c = keep_settings(c, door if c.frontdoor_wanted else "")
    os.makedirs(os.path.dirname(f"{dest}{env_file}"), mode=0o700, exist_ok=True)
    os.chmod(os.path.dirname(f"{dest}{env_file}"), 0o700)
    config.replace_file(f"{dest}{env_file}", environment_file(c))
    written = [write_unit(dest, hub, hub_unit(c, env_file))]
    if c.frontdoor_wanted:
        written.append(write_unit(dest, door, frontdoor_unit(c, env_file, hub)))
    else:
        unwrite_unit(dest, door)
    verify(written)
    say(f"written: {' '.join(written)} and the class's settings in {dest}{env_file} (root only)")
    if not dest:
        subprocess.run(["systemctl", "daemon-reload"], check=True)
        subprocess.run(["systemctl", "enable", hub], check=True, capture_output=True)
        say(f"enabled at boot: {hub} (start it now: systemctl start {hub}; a class started with make classroom should "
            "be stopped first: make classroom-down)")
