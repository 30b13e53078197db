"""Fixtures for the browser tests: the practice server, JupyterLab on a working copy of
notebooks/, and Debian's headless chromium driven by Playwright. Every process started
here is ended at the end of the session, its children too, even when a test fails."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest
from playwright.sync_api import sync_playwright

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "lesson-harness", "tests"))
from listening import Listening  # noqa: E402
from practice_server import PracticeServer, build  # noqa: E402
BUILD = os.path.join(REPO, "build")
SCREENSHOTS = os.path.join(BUILD, "screenshots")
LAB_SAYS = r"http://(127\.0\.0\.1:\d+)/lab"  # the line JupyterLab prints once it listens
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]
# Slow enough to sample the answer while it streams: the seed answer takes about 10 s.
# BROWSER_TEST_PACE=FIRST_TOKEN,TPS overrides it ("0s,0": no pace, and the suite must fail).
PACE = os.environ.get("BROWSER_TEST_PACE", "500ms,20").split(",")
TEST_TIMEOUT = 300  # seconds, a backstop for each test on top of Playwright's own timeouts


def wait_for_url(url, proc, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with code {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{what} did not answer {url} within {timeout}s")


def descendants(pid):
    """Ids of every process below pid (read from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        except (ValueError, OSError, IndexError):
            continue
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop(proc, grace=10):
    """End proc and everything it started (kernels, gopls), by process id."""
    tree = descendants(proc.pid)
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    for pid in tree:  # kernels and gopls outlive jupyter otherwise
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(autouse=True)
def time_limit():
    """Fail a test that runs longer than TEST_TIMEOUT, whatever it waits on."""
    def expire(*_):
        raise TimeoutError(f"test took longer than {TEST_TIMEOUT}s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TEST_TIMEOUT)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def practice_server():
    """Build and start `streamdemo serve` on a free loopback port; yield its base URL."""
    binary = build(os.path.join(BUILD, "test"))
    with PracticeServer(binary, os.path.join(BUILD, "test", "browser-practice-server.log"),
                        "--first-token", PACE[0], "--tps", PACE[1], timeout=30) as server:
        yield server.base_url


def write_lab_settings(config_dir):
    """Settings a fresh JupyterLab would ask about: no news pop-up, no update check."""
    path = os.path.join(config_dir, "lab", "user-settings", "@jupyterlab", "apputils-extension")
    os.makedirs(path)
    with open(os.path.join(path, "notification.jupyterlab-settings"), "w") as f:
        json.dump({"fetchNews": "false", "checkForUpdates": False}, f)


@pytest.fixture(scope="session")
def lab(practice_server, tmp_path_factory):
    """JupyterLab on a fresh working copy of notebooks/; yield (base URL, token, working copy).
    The kernel takes the module enclosing the notebook's folder, so the copy sits inside the
    repository; its own .gitignore keeps it out of git."""
    workdir = tempfile.mkdtemp(prefix=".browser-notebooks-", dir=REPO)
    shutil.copytree(os.path.join(REPO, "notebooks"), workdir, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    with open(os.path.join(workdir, ".gitignore"), "w") as f:
        f.write("*\n")
    config_dir = str(tmp_path_factory.mktemp("jupyter-config"))
    write_lab_settings(config_dir)
    token = "browser-test-" + os.urandom(8).hex()
    env = dict(os.environ, STREAMDEMO_PROVIDER="practice", STREAMDEMO_BASE_URL=practice_server,
               JUPYTER_CONFIG_DIR=config_dir)
    os.makedirs(os.path.join(BUILD, "test"), exist_ok=True)
    lab = Listening(
        [os.path.join(REPO, ".venv", "bin", "jupyter"), "lab", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={workdir}"],
        os.path.join(BUILD, "test", "browser-jupyter.log"), LAB_SAYS, timeout=60, env=env, cwd=workdir)
    base = f"http://{lab.address}"
    try:
        wait_for_url(f"{base}/api/status?token={token}", lab.proc, "jupyter lab", timeout=60)
        yield base, token, workdir
    finally:
        stop(lab.proc)
        lab.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Headless Debian chromium with a fresh profile; yield its browser context."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: run `bash kernel-setup/browser.sh`")
    os.makedirs(SCREENSHOTS, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1100, "height": 900})
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()
