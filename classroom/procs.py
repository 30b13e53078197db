"""The class's processes where systemd does not supervise them: each started in a session of its own with an
allow-listed environment and a log rotated by size, named by a pid file in the class's folder, stopped with
SIGTERM and, after a while, SIGKILL."""
import os
import pwd
import signal
import subprocess
import time

from classroom.settings import HERE, say

# Only these of the caller's environment reach a process the class starts: a key exported in the teacher's
# shell stays there.
KEPT = ("PATH", "LANG", "LC_ALL")


def clean_env(environ, *names, **extra):
    """The allow-listed part of environ (KEPT and names), with extra."""
    env = {k: environ[k] for k in KEPT + names if k in environ}
    env.update(extra)
    return env


def pid_of(pid_file):
    """The live process pid_file names, or None."""
    try:
        with open(pid_file) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def start(cmd, *, pid_file, log, log_max_bytes, env, cwd="/", user=None, log_python):
    """Starts cmd in a new session (as user, given) with env, its output through logpipe.py into log, and
    writes its pid to pid_file. Neither the caller's output nor its SIGINT-ignoring state reaches it."""
    if user:
        cmd = ["runuser", "-u", user, "--"] + list(cmd)
    logger = subprocess.Popen([log_python, os.path.join(HERE, "logpipe.py"), log, str(log_max_bytes)],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True, cwd="/")
    try:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logger.stdin, stderr=subprocess.STDOUT, env=env,
                             cwd=cwd, start_new_session=True, restore_signals=True,
                             preexec_fn=_default_signals)
    finally:
        logger.stdin.close()  # the process holds the pipe now: the logger ends when it does
    write_pid(pid_file, p.pid)
    return p.pid


def _default_signals():
    # A process started from a background job inherits SIGINT ignored, and so would every server it starts.
    for s in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(s, signal.SIG_DFL)


def write_pid(pid_file, pid):
    tmp = f"{pid_file}.tmp"
    with open(tmp, "w") as f:
        f.write(f"{pid}\n")
    os.replace(tmp, pid_file)


def stop(pid, what, wait=40.0, quiet=False):
    """SIGTERM, up to wait seconds to exit, then SIGKILL."""
    if not send(pid, signal.SIGTERM):
        return
    if ended([pid], wait):
        if not quiet:
            say(f"stopped {what}")
    elif send(pid, signal.SIGKILL) and not quiet:
        say(f"killed {what} (it did not stop within {wait:.0f} s)")


def send(pid, sig):
    """Sends sig to pid; False if there is no such process."""
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def ended(pids, wait):
    """True once every pid has exited (or is a zombie), False if one still runs after wait seconds."""
    deadline = time.monotonic() + wait
    while any(alive(p) and not zombie(p) for p in pids):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def stop_file(pid_file, what, quiet=False):
    """Stops the process pid_file names, if it runs, and removes the file."""
    pid = pid_of(pid_file)
    if pid:
        stop(pid, what, quiet=quiet)
    try:
        os.unlink(pid_file)
    except FileNotFoundError:
        pass
    return pid is not None


def zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def account_pids(user):
    """The pids of user's processes (none if the account does not exist)."""
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        return []
    return [pid for pid, owner in processes() if owner == uid]


def processes():
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                yield int(name), os.stat(f"/proc/{name}").st_uid
            except OSError:
                continue


def cwd_of(pid):
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None


def cgroup_of(pid):
    """The process's cgroup path (/system.slice/NAME.service/...), '' if it is gone."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            return f.read()
    except OSError:
        return ""


def cmdline_of(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def kill_all(pids, wait=10.0):
    """SIGTERM to every pid, SIGKILL after wait seconds to those still running."""
    for pid in pids:
        send(pid, signal.SIGTERM)
    if not ended(pids, wait):
        for pid in pids:
            send(pid, signal.SIGKILL)
