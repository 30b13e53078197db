"""A real systemd booted as PID 1 of a container on this machine, for tests of what systemd supervises.

Machines whose PID 1 is not systemd (CI's) can still boot one: `systemd-nspawn` (Debian's
systemd-container package) runs the host's /usr read-only under a tmpfs root (`--volatile=yes`), and
binds a state folder of the machine's own over /etc, /var, /opt, /home and /root, so whatever is
installed in it (accounts, units enabled at boot, a class's state) survives a power-off and the next
boot, as on a school's server. /etc starts as a copy of this machine's, less its people's accounts.

    with Machine("sdsys-demo", repo=REPO) as m:     # booted, running
        m.run("systemctl", "is-system-running")
        m.reboot()                                   # powered off, booted again on the same state
    # stopped by its pid; its cgroups and state folder removed

Limits: nspawn gives a container only the name=systemd hierarchy to write, so a unit's MemoryMax=,
TasksMax= and CPUWeight= would be shown but not enforced. A Machine therefore gets cgroups of its own
in this machine's memory, pids, cpu and cpuacct hierarchies (cgroup v1), bound writable over the
read-only ones nspawn mounts before systemd starts: systemd in it then enforces those limits itself, as
it does on a server with cgroup v2 (delegate=False leaves nspawn's default).

The container runs in those cgroups and in one of its own on systemd's hierarchies (nspawn would
otherwise share /payload with any other container started the same way); it is stopped when the
process that started it dies (PR_SET_PDEATHSIG), and by default it has a network of its own with only
loopback, so whatever it listens on meets nothing else on this machine (or it joins a network namespace
of the test's, as a host among the test's laptops).
"""
import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

from host_cgroups import CONTROLLERS, Cgroup, systemd_hierarchies

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/go/bin"
PERSISTENT = ("etc", "var", "opt", "home", "root")  # the folders of the state, bound at /NAME
# Left out of the copy of this machine's /etc: what names this machine, and the configuration of
# PostgreSQL's clusters (their data stays in this machine's /var).
NOT_COPIED = ("machine-id", "hostname", "fstab", "postgresql")
PROPAGATE = "/run/systemd/nspawn/propagate"  # nspawn's folder per container on this machine
STAGED = "/run/host-cgroup"  # where the delegated cgroups are bound first, inside the container
PR_SET_PDEATHSIG = 1


class BootError(RuntimeError):
    """The container did not reach a running system."""


class CommandError(subprocess.CalledProcessError):
    """A command inside the container failed; its message ends with what it wrote to stderr."""

    def __str__(self):
        return f"{super().__str__()}: {(self.stderr or '').strip()[-2000:]}"


class Machine:
    """A container whose PID 1 is systemd, booted from this machine's /usr and a state folder of its own.

    name: the container's machine name and host name (and its cgroup's); give it a prefix of your own.
    repo: a folder bound at the same path inside (read-write), e.g. the repository.
    binds, binds_ro: more (HOST, INSIDE) pairs.
    state: the persistent folder; made (and removed by remove()) when not given.
    network: "private" (a network of its own with only loopback), "host" (this machine's), or the path of a
      network namespace the test made (/run/netns/NAME), so that other hosts of the test reach it.
    delegate: cgroups of its own in the CONTROLLERS' hierarchies, so that systemd enforces limits (True).
    """

    def __init__(self, name, repo=None, binds=(), binds_ro=(), state=None, network="private", delegate=True):
        if os.geteuid() != 0:
            raise PermissionError("booting a container needs root")
        if not shutil.which("systemd-nspawn"):
            raise FileNotFoundError("systemd-nspawn is missing: run make systemd-container-setup")
        if delegate and not os.path.exists("/sys/fs/cgroup/memory/cgroup.procs"):
            raise BootError("delegating limits needs this machine's cgroup v1 controllers (/sys/fs/cgroup/memory), "
                            "which it has not: use Machine(delegate=False)")
        self.name, self.network, self.delegate = name, network, delegate
        self.binds = [(repo, repo)] if repo else []
        self.binds += list(binds)
        self.binds_ro = list(binds_ro)
        self.own_state = state is None
        self.state = state or tempfile.mkdtemp(prefix=f"{name}-", dir="/var/tmp")
        os.chmod(self.state, 0o700)
        self.console = os.path.join(self.state, "console.log")
        self.cgroups = None  # made at each boot, removed at the end
        self.nspawn = None  # the systemd-nspawn process
        self.pid = None  # the container's PID 1 (systemd), as this machine sees it
        self.boots = []  # seconds from start to a running system, one per boot
        self.stops = []  # seconds from power-off to the container's end, one per stop
        seed(self.state, name)
        with open(os.path.join(self.state, "owner"), "w") as f:
            f.write(f"{os.getpid()} {name}\n")

    # Booting and stopping.

    def boot(self, timeout=120):
        """Starts the container and waits until systemd says the system is running; returns the seconds taken."""
        if self.nspawn and self.nspawn.poll() is None:
            raise BootError(f"{self.name} is already running")
        delegated = CONTROLLERS if self.delegate else ()
        self.cgroups = Cgroup(self.name, systemd_hierarchies() + list(delegated))
        argv = ["systemd-nspawn", "--quiet", "-D", "/", "--volatile=yes", "--register=no", "--keep-unit",
                "-M", self.name]
        if self.network == "private":
            argv.append("--private-network")
        elif self.network != "host":
            argv.append(f"--network-namespace-path={self.network}")
        argv += [f"--bind={self.state}/{d}:/{d}" for d in PERSISTENT]
        argv += [f"--bind={host}:{inside}" for host, inside in self.binds]
        argv += [f"--bind-ro={host}:{inside}" for host, inside in self.binds_ro]
        argv += [f"--bind={self.cgroups.paths[c]}:{STAGED}/{c}" for c in delegated]
        if delegated:  # PID 1 puts ours over the read-only hierarchies nspawn mounts, then becomes systemd
            ours = "".join(f"mount --bind {STAGED}/{c} /sys/fs/cgroup/{c}; umount {STAGED}/{c}; " for c in delegated)
            argv += ["--kill-signal=SIGRTMIN+3", "--", "/bin/sh", "-ec",
                     f"{ours}exec /lib/systemd/systemd systemd.firstboot=false"]
        else:
            argv += ["--boot", "--", "systemd.firstboot=false"]
        started = time.monotonic()
        with open(self.console, "ab") as log:
            self.nspawn = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                           env={"PATH": PATH, "LANG": "C.UTF-8"}, preexec_fn=self._as_container)
        with open(os.path.join(self.state, "nspawn.pid"), "w") as f:
            f.write(f"{self.nspawn.pid}\n")
        self.pid = self._pid1(started + timeout)
        state = self._wait_running(started + timeout)
        if state != "running":
            failed = self.run("systemctl", "list-units", "--failed", "--plain", "--no-legend", check=False).stdout
            raise BootError(f"{self.name} booted {state!r}, not running; failed units:\n{failed}")
        self.boots.append(time.monotonic() - started)
        return self.boots[-1]

    def _as_container(self):
        """In nspawn's process before it runs: our cgroups, and SIGTERM (a clean halt) when our parent dies."""
        self.cgroups.enter()
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    def _pid1(self, deadline):
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                raise BootError(f"systemd-nspawn ended ({self.nspawn.returncode}): {self.console_tail()}")
            for pid in children(self.nspawn.pid):
                if comm(pid) == "systemd":
                    return pid
            time.sleep(0.05)
        raise BootError(f"{self.name}: no systemd started in time: {self.console_tail()}")

    def _wait_running(self, deadline):
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                raise BootError(f"{self.name} stopped while booting: {self.console_tail()}")
            r = self.run("systemctl", "is-system-running", "--wait", check=False,
                         timeout=max(1, deadline - time.monotonic()))
            state = r.stdout.strip()
            if state in ("running", "degraded", "maintenance", "stopping"):
                return state
            time.sleep(0.1)  # the manager's socket is not there yet
        raise BootError(f"{self.name} was not running after the boot's time: {self.console_tail()}")

    def poweroff(self, timeout=60):
        """Halts the container cleanly (as `systemctl halt`) and waits for its end; returns the seconds taken."""
        if not self.running():
            return 0.0
        started = time.monotonic()
        os.kill(self.pid, signal.SIGRTMIN + 3)  # systemd's "halt": every unit stopped in order
        try:
            self.nspawn.wait(timeout)
        except subprocess.TimeoutExpired:
            self.power_cut()
            raise BootError(f"{self.name} did not stop within {timeout} s, so it was killed: {self.console_tail()}")
        self.stops.append(time.monotonic() - started)
        return self.stops[-1]

    def power_cut(self):
        """Ends the container at once, as a power cut would: its PID 1 killed, so every process in it."""
        if self.running():
            os.kill(self.pid, signal.SIGKILL)
            self.nspawn.wait(30)

    def reboot(self, timeout=120):
        """Powers off and boots again on the same state; returns (seconds to stop, seconds to boot)."""
        down = self.poweroff()
        return down, self.boot(timeout)

    def running(self):
        return self.nspawn is not None and self.nspawn.poll() is None

    def remove(self):
        """Stops the container (by its pid) and removes its cgroups and, if it made it, its state folder."""
        try:
            self.poweroff()
        finally:
            self.power_cut()
            if self.cgroups:
                self.cgroups.remove()
            if os.path.isdir(os.path.join(PROPAGATE, self.name)):
                shutil.rmtree(os.path.join(PROPAGATE, self.name))
            if self.own_state:
                shutil.rmtree(self.state, ignore_errors=True)

    def __enter__(self):
        try:
            self.boot()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc):
        self.remove()

    # Inside.

    def run(self, *argv, check=True, timeout=60, input=None, env=None):
        """Runs a command inside the container as root (nsenter into all its namespaces)."""
        if not self.running():
            raise BootError(f"{self.name} is not running")
        environ = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"}
        r = subprocess.run(["nsenter", "-t", str(self.pid), "-a", *argv], capture_output=True, text=True,
                           timeout=timeout, input=input, env=dict(environ, **(env or {})))
        if check and r.returncode:
            raise CommandError(r.returncode, argv, r.stdout, r.stderr)
        return r

    def systemctl(self, *args, check=True):
        return self.run("systemctl", *args, check=check)

    def show(self, unit, *properties):
        """A unit's properties, as `systemctl show -p` prints them: {name: value}."""
        out = self.systemctl("show", unit, *[f"--property={p}" for p in properties]).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def write(self, path, text, mode=0o644):
        """Writes a file inside the container (its folder made if missing)."""
        self.run("sh", "-c", 'mkdir -p "$(dirname "$1")" && cat >"$1" && chmod "$2" "$1"', "sh", path, f"{mode:o}",
                 input=text)

    def console_tail(self, lines=20):
        try:
            with open(self.console, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def unit_cgroup(self, unit, hierarchy="name=systemd"):
        """A unit's cgroup folder on this machine, in systemd's hierarchy (where its processes are listed)
        or, when delegated, a controller's (where its limits are)."""
        path = self.show(unit, "ControlGroup")["ControlGroup"]
        if hierarchy in CONTROLLERS:
            return self.cgroups.paths[hierarchy] + path
        return self.cgroups.paths[hierarchy] + "/payload" + path


def sweep(prefix, parent="/var/tmp"):
    """Removes what containers named PREFIX... left when the process that started them was killed before
    it could remove them (their state folders and cgroups); those whose owner or nspawn lives stay."""
    for entry in os.listdir(parent):
        state = os.path.join(parent, entry)
        if not entry.startswith(prefix) or not os.path.isfile(os.path.join(state, "owner")):
            continue
        with open(os.path.join(state, "owner")) as f:
            owner, name = f.read().split()
        try:
            with open(os.path.join(state, "nspawn.pid")) as f:
                nspawn = int(f.read())
        except (OSError, ValueError):
            nspawn = 0
        if comm(int(owner)) or comm(nspawn) == "systemd-nspawn":
            continue
        Cgroup(name, systemd_hierarchies() + list(CONTROLLERS)).remove()
        shutil.rmtree(os.path.join(PROPAGATE, name), ignore_errors=True)
        shutil.rmtree(state)


def seed(state, name):
    """Makes the state's folders on first use: /etc a copy of this machine's, without the accounts of its
    people (uids 1000-59999) nor NOT_COPIED, with a machine id of its own; the rest empty but for the
    journal's folder."""
    etc = os.path.join(state, "etc")
    if os.path.exists(etc):
        return
    for d in PERSISTENT:
        if d != "etc":
            os.makedirs(os.path.join(state, d), exist_ok=True)
    os.chmod(os.path.join(state, "root"), 0o700)
    subprocess.run(["cp", "-a", "/etc", etc + ".new"], check=True)
    people = people_of(etc + ".new")
    for f in ("passwd", "shadow", "group", "gshadow", "subuid", "subgid"):
        drop(os.path.join(etc + ".new", f), people)
    for f in NOT_COPIED:
        path = os.path.join(etc + ".new", f)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)
    with open(os.path.join(etc + ".new", "hostname"), "w") as f:
        f.write(name + "\n")
    # An identity of its own. Not none: systemd would take the boot for a first boot and enable every unit
    # installed (Debian's presets enable what they do not name, nftables and systemd-networkd among them).
    with open(os.path.join(etc + ".new", "machine-id"), "w") as f:
        f.write(uuid.uuid4().hex + "\n")
    os.chmod(os.path.join(etc + ".new", "machine-id"), 0o444)
    os.rename(etc + ".new", etc)
    journal = os.path.join(state, "var", "log", "journal")  # as Debian's systemd package makes it: kept logs
    os.makedirs(journal, exist_ok=True)
    os.chmod(journal, 0o2755)


def people_of(etc):
    """The names of the accounts and groups of people (ids 1000-59999) in an /etc's passwd and group."""
    people = set()
    for db in ("passwd", "group"):
        with open(os.path.join(etc, db)) as f:
            for line in f:
                fields = line.split(":")
                if len(fields) > 2 and fields[2].isdigit() and 1000 <= int(fields[2]) < 60000:
                    people.add(fields[0])
    return people


def drop(path, names):
    """Removes the entries of these names from an account database (passwd, group, shadow...)."""
    if not os.path.exists(path):
        return
    with open(path) as f:
        kept = [line for line in f if line.split(":")[0] not in names]
    st = os.stat(path)
    with open(path, "w") as f:
        f.writelines(kept)
    os.chmod(path, st.st_mode)


def children(pid):
    """The pids of a process's children."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return found


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""
