"""kernel-setup/progress.sh: a long set-up step shows one line updated in place on a
terminal, plain lines in a CI log, keeps the command's output in its log file, and on
failure shows the log's last lines and the command to retry."""
import fcntl
import os
import pty
import struct
import subprocess
import termios

from conftest import REPO

PROGRESS = os.path.join(REPO, "kernel-setup", "progress.sh")


def step(tmp_path, command, tty=False):
    """Run `step` with command in bash; return (exit status, what the user sees, log dir)."""
    script = f'source {PROGRESS}; RETRY="bash retry-me.sh"; step "compiling things" "~2 s" bash -c {command!r}'
    env = dict(os.environ, STEP_LOG_DIR=str(tmp_path))
    if not tty:
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)
        return done.returncode, done.stdout + done.stderr, tmp_path
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 40, 0, 0))  # 40 columns
        os.execvpe("bash", ["bash", "-c", script], env)
    seen = b""
    while True:
        try:
            data = os.read(fd, 1024)
        except OSError:
            break
        if not data:
            break
        seen += data
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.decode(), tmp_path


NOISY = "for i in $(seq 300); do echo warning: noisy compiler line $i >&2; done; sleep 1.5; echo built"


def test_plain_lines_when_not_a_terminal(tmp_path):
    code, seen, logs = step(tmp_path, NOISY)
    assert code == 0
    lines = seen.splitlines()
    assert lines[0] == f"==> compiling things (usually ~2 s; log: {logs}/compiling-things.log)", lines
    assert lines[1].startswith("==> compiling things: done in ") and lines[1].endswith(
        f" (log: {logs}/compiling-things.log)"), lines
    assert len(lines) == 2 and "warning" not in seen and "\r" not in seen
    log = (logs / "compiling-things.log").read_text()
    assert "noisy compiler line 300" in log and "built" in log


def test_one_line_updated_in_place_on_a_terminal(tmp_path):
    """The line is cut to the terminal's width (40 columns here), so it never wraps."""
    code, seen, _ = step(tmp_path, NOISY, tty=True)
    assert code == 0
    assert "warning" not in seen
    updates = seen.split("\r")
    assert len(updates) >= 3, "the line was not updated while the step ran"
    assert "\n" not in "".join(updates[:-1]).replace("\r\n", ""), "the progress line scrolled"
    assert any(u == "\x1b[K==> 1 s  compiling things (usually ~2 s)"[:3 + 39] for u in updates), updates
    assert "compiling things: done in " in updates[-2] and "(log: " in updates[-2], updates[-2:]


def test_failure_shows_the_end_of_the_log_and_how_to_retry(tmp_path):
    code, seen, logs = step(tmp_path, "seq 100; echo 'error: the real cause' >&2; exit 3")
    assert code == 3
    assert "FAILED after" in seen and "exit status 3" in seen
    assert "    error: the real cause" in seen and "    99" in seen and "    50\n" not in seen
    assert f"full log: {logs}/compiling-things.log — retry with: bash retry-me.sh" in seen
