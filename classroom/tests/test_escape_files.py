"""A student plants commands and traps in their own home and repository, then restarts their server
through the hub; the gateway's account plants a link in its folder before make classroom. What the
hub runs as the student gets a minimal environment, the hub keeps answering everyone else, each
start ends with at most one clear log line, and root follows no planted link."""
import os
import pwd
import stat
import subprocess
import threading
import time

import requests

from attack import ALLOWED_ENV, HUB_ENV_PREFIXES, as_account, log_since, log_size, parse_env
from conftest import PULL_TIMEOUT, REPO, STUDENTS
from hubclient import Student

ADA, BO, CY, DEE = STUDENTS

# Every command a student's git may run for them, each dumping its environment to ~/dumps.
PLANT_COMMANDS = r'''
set -e
mkdir -p "$HOME/dumps" "$HOME/bin" "$HOME/hooks2"
cat >"$HOME/bin/dump" <<'EOF'
#!/bin/sh
env >"$HOME/dumps/$1.$$"
case $1 in filter) exec cat ;; textconv) exec cat "$2" ;; esac
exit 0
EOF
chmod +x "$HOME/bin/dump"
cd "$HOME/streamdemo"
for h in post-merge post-checkout pre-merge-commit post-commit pre-commit post-rewrite reference-transaction pre-auto-gc post-index-change; do
  printf '#!/bin/sh\nexec "$HOME/bin/dump" hook-%s\n' "$h" >".git/hooks/$h"
  printf '#!/bin/sh\nexec "$HOME/bin/dump" included-hook-%s\n' "$h" >"$HOME/hooks2/$h"
  chmod +x ".git/hooks/$h" "$HOME/hooks2/$h"
done
git config core.fsmonitor "$HOME/bin/dump fsmonitor"
git config filter.dump.clean "$HOME/bin/dump filter"
git config filter.dump.smudge "$HOME/bin/dump filter"
git config diff.dump.textconv "$HOME/bin/dump textconv"
git config merge.dump.driver "$HOME/bin/dump merge %A %O %B"
git config core.sshCommand "$HOME/bin/dump ssh"
git config core.pager "$HOME/bin/dump pager"
git config core.editor "$HOME/bin/dump editor"
git config "includeIf.gitdir:$HOME/streamdemo/.path" "$HOME/included.gitconfig"
printf '[core]\n\thooksPath = %s/hooks2\n' "$HOME" >"$HOME/included.gitconfig"
printf '* filter=dump diff=dump merge=dump\n' >.git/info/attributes
rm -rf "$HOME/.cache/go-build"
mkdir -p "$HOME/.cache"
ln -s /root "$HOME/.cache/go-build"
'''
PLANT_FIFO = 'rm -f "$HOME/.gitconfig"; mkfifo "$HOME/.gitconfig"'
PLANT_ZERO = ('rm -rf "$HOME/.gitconfig" "$HOME/.cache/go-build"; mkdir -p "$HOME/.cache";'
              ' ln -s /dev/zero "$HOME/.gitconfig"; ln -s /root "$HOME/.cache/go-build"')


class Latency(threading.Thread):
    """Another student asking the hub who they are, every 0.1 s, until stopped: the seconds each took."""

    def __init__(self, student):
        super().__init__(daemon=True)
        self.student, self.times, self.done = student, [], threading.Event()

    def run(self):
        while not self.done.is_set():
            t0 = time.monotonic()
            try:
                self.student.hub_api("GET", "user", timeout=30).raise_for_status()
                self.times.append(time.monotonic() - t0)
            except requests.RequestException:
                self.times.append(float("inf"))
            time.sleep(0.1)


def start_all(students):
    """Starts every server at once; returns {name: error or None}."""
    errors = {}

    def start(s):
        try:
            s.start_server(timeout=PULL_TIMEOUT + 80)
            errors[s.name] = None
        except Exception as e:  # noqa: BLE001 (reported by the caller)
            errors[s.name] = repr(e)

    threads = [threading.Thread(target=start, args=(s,)) for s in students]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def unblock(fifo):
    """Ends a read blocked on a FIFO (a writer that opens and closes it)."""
    for _ in range(50):
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            return
        time.sleep(0.05)


def publish(klass, solutions):
    r = subprocess.run(["python3", "-m", "classroom", "publish"], env=dict(klass.env, SOLUTIONS=solutions), cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def owned_in_root(uids):
    return [n for n in os.listdir("/root") if os.lstat(os.path.join("/root", n)).st_uid in uids]


def test_planted_git_commands_and_traps_neither_leak_nor_freeze_the_hub(klass):
    ada, bo, cy, dee = (klass.student(n) for n in (ADA, BO, CY, DEE))
    ada.start_server()
    bo.start_server()  # ~/streamdemo exists before the plants
    for s in (bo, cy, dee):
        s.stop_server()
    as_account(BO, PLANT_COMMANDS)
    as_account(CY, PLANT_FIFO)
    as_account(DEE, PLANT_ZERO)
    publish(klass, "include")  # a new lesson commit: the pull fetches, merges and checks out
    offset = log_size()
    probe = Latency(ada)
    watchdog = threading.Timer(PULL_TIMEOUT + 60, unblock, [f"/home/{CY}/.gitconfig"])  # a hub that froze on it
    try:
        watchdog.start()
        probe.start()
        t0 = time.monotonic()
        errors = start_all([bo, cy, dee])
        took = time.monotonic() - t0
    finally:
        watchdog.cancel()
        probe.done.set()
        unblock(f"/home/{CY}/.gitconfig")
        probe.join()
        as_account(CY, 'rm -f "$HOME/.gitconfig"', check=False)
        as_account(DEE, 'rm -f "$HOME/.gitconfig"', check=False)
        publish(klass, "withhold")
    log = log_since(offset)

    # The hub answered the other student throughout, while a pull hung for its whole time limit.
    assert took >= PULL_TIMEOUT, f"the servers started in {took:.1f} s: the FIFO did not hold the pull"
    assert len(probe.times) >= PULL_TIMEOUT * 3, probe.times
    assert max(probe.times) < 2.0, f"the hub took {max(probe.times):.1f} s to answer {ADA} while others started"
    # Every server started; a pull that failed is one line in the hub's log, naming the student.
    assert errors == {BO: None, CY: None, DEE: None}, errors
    for name, why in ((CY, f"did not finish within {PULL_TIMEOUT} s"), (DEE, "exit 1")):
        lines = [line for line in log.splitlines() if f"{name}: the lesson was not brought up to date" in line]
        assert len(lines) == 1 and why in lines[0], lines or log[-3000:]
    assert "Traceback" not in log, log[log.find("Traceback"):][:2000]

    # The planted commands ran, with nothing of the hub's in their environment.
    dumps = as_account(BO, 'for f in "$HOME"/dumps/*; do [ -f "$f" ] && printf "=== %s\\n" "${f##*/}" && cat "$f"; done; true')
    found = {}
    for part in dumps.split("=== ")[1:]:
        name, _, body = part.partition("\n")
        found[name] = parse_env(body)
    kinds = {name.split(".")[0] for name in found}
    assert any(k.startswith("included-hook-") for k in kinds), f"no hook ran (through the includeIf): {kinds}"
    assert kinds & {"fsmonitor", "filter", "textconv", "merge"}, f"no command from the repository's config ran: {kinds}"
    secrets = set(klass.watch.secrets)
    for name, env in found.items():
        assert not [k for k in env if k.startswith(HUB_ENV_PREFIXES)], f"{name} got the hub's variables: {sorted(env)}"
        assert not [k for k in env if k not in ALLOWED_ENV and not k.startswith("GIT")], f"{name}: {sorted(env)}"
        assert not [v for v in env.values() if v in secrets or any(s in v for s in secrets)], f"{name} got a class secret"
        assert env.get("HOME") == f"/home/{BO}" and env.get("USER") == BO, env
    assert not owned_in_root({os.stat(f"/home/{n}").st_uid for n in (BO, CY, DEE)})


def test_a_repository_link_out_of_the_home_is_refused_as_the_student(klass):
    dee = klass.student(DEE)
    dee.stop_server()
    as_account(DEE, 'rm -f "$HOME/.gitconfig"; rm -rf "$HOME/streamdemo"; ln -s /root "$HOME/streamdemo"')
    offset = log_size()
    dee.start_server(timeout=PULL_TIMEOUT + 60)
    lines = [line for line in log_since(offset).splitlines() if f"{DEE}: the lesson was not brought up to date" in line]
    assert len(lines) == 1 and "Permission denied" in lines[0], lines
    assert not owned_in_root({os.stat(f"/home/{DEE}").st_uid})
    dee.stop_server()


def test_a_link_in_the_gateway_folder_does_not_make_root_write_elsewhere(klass, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("root's own file\n")
    os.chmod(tmp_path, 0o755)
    key_before = klass.upstream_key()
    tmp_key = os.path.join(klass.gateway_dir, "upstream-key.tmp")
    as_account("streamdemo-llm", f'ln -sfn "{victim}" "{tmp_key}"')
    try:
        klass.make("classroom")  # the class runs: up writes the key again
    finally:
        as_account("streamdemo-llm", f'rm -f "{tmp_key}"', check=False)
    assert victim.read_text() == "root's own file\n" and os.stat(victim).st_uid == 0
    st = os.lstat(os.path.join(klass.gateway_dir, "upstream-key"))
    assert stat.S_ISREG(st.st_mode) and st.st_mode & 0o777 == 0o600
    assert st.st_uid == pwd.getpwnam("streamdemo-llm").pw_uid
    assert klass.upstream_key() == key_before
    klass.usage()  # the gateway still answers
