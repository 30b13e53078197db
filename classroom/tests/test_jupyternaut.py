"""Jupyternaut (jupyter-ai) in a student's JupyterLab, in a real Chromium, through the class gateway: the
answer streams into the chat, a pause and a spent budget are the class's own sentences, the teacher's
page counts it, no key or token is on a settings screen, in the page or in the student's files, another
student's listener on jupyter-ai's MCP port is never asked, and the teacher can switch it off."""
import contextlib
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from conftest import REPO, STUDENTS, TEACHER

sys.path.insert(0, os.path.join(REPO, "classroom"))
from jupyternaut import config_folder, page_config, server_config, switch  # noqa: E402

ADA, DEE = STUDENTS[0], STUDENTS[3]
QUESTION = "How many stars are in the universe?"
PAUSED = "Your teacher has paused your access to the model; ask your teacher."
MCP_PORT = 3001  # where jupyter-ai's MCP server would listen, and Jupyternaut would ask


def chromium():
    from playwright.sync_api import sync_playwright
    path = subprocess.run(["bash", "-c", "command -v chromium"], capture_output=True, text=True).stdout.strip()
    assert path, "chromium is missing: run make browser-setup"
    p = sync_playwright().start()
    browser = p.chromium.launch(executable_path=path, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"])
    return p, browser


def log_in(page, klass, name):
    page.goto(f"{klass.url}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", klass.password(name))
    page.click("#login_submit")
    page.wait_for_url(lambda url: "/hub/login" not in url)


def teacher_post(klass, path, body):
    r = requests.post(f"{klass.base}/services/llm/teacher/{path}", json=body,
                      headers={"Authorization": f"Bearer {klass.teacher_token()}"}, timeout=30)
    assert r.status_code == 200, r.text


class Chat:
    """A student's chat with Jupyternaut, open in her JupyterLab."""

    def __init__(self, page):
        self.page = page

    def ask(self, question, timeout=90):
        """Sends question; returns the reply's text as it grew (every length seen) and as it ended."""
        replies = self.page.locator(".jp-chat-rendered-message")
        before = replies.count()
        box = self.page.locator("textarea[placeholder^='Type a chat message']")
        box.fill(question)
        box.press("Enter")
        seen, last, stable_since = [], "", time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            n = replies.count()
            now = replies.nth(n - 1).inner_text() if n >= before + 2 else ""  # her question, then the reply
            if now != last:
                seen.append(len(now))
                last, stable_since = now, time.monotonic()
            elif now and time.monotonic() - stable_since > 3:
                return seen, now
            time.sleep(0.05)
        os.makedirs(os.path.join(REPO, "build", "screenshots"), exist_ok=True)
        self.page.screenshot(path=os.path.join(REPO, "build", "screenshots", "jupyternaut-no-reply.png"))
        raise AssertionError(f"Jupyternaut's reply did not end within {timeout} s: {last[-300:]!r} (build/screenshots/jupyternaut-no-reply.png)")


@pytest.fixture(scope="module")
def squatter(klass):
    """Another student's listener on the port jupyter-ai's MCP server would take, taken before DEE's server starts."""
    dee = klass.student(DEE)
    with contextlib.suppress(RuntimeError):
        dee.stop_server()
    with listener_of(ADA, MCP_PORT) as got:
        yield got


@pytest.fixture(scope="module")
def chat(klass, squatter):
    dee = klass.student(DEE)
    dee.start_server()
    dee.api("PUT", "contents/ask.chat", json={"type": "file", "format": "text", "content": ""})
    p, browser = chromium()
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        log_in(page, klass, DEE)
        page.goto(f"{klass.server(DEE)}/user/{DEE}/lab/tree/ask.chat?reset")
        page.locator("textarea[placeholder^='Type a chat message']").wait_for(timeout=60000)
        page.get_by_text("Jupyternaut", exact=True).first.wait_for(timeout=60000)  # the chat's persona, ready to answer
        yield Chat(page)
    finally:
        browser.close()
        p.stop()


@contextlib.contextmanager
def listener_of(name, port):
    """A listener of student name's on port, for as long as the block lasts."""
    code = ("import socket,sys\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
            f"s.bind(('127.0.0.1',{port}))\ns.listen()\nprint('listening',flush=True)\n"
            "while True:\n c,_=s.accept()\n print('asked:',c.recv(200),flush=True)\n c.close()\n")
    proc = subprocess.Popen(["/usr/sbin/runuser", "-u", name, "--", "/usr/bin/python3", "-c", code], cwd="/",
                            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},  # a student's, not the tests' own
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "listening", f"{name} could not listen on {port}: {proc.stdout.read(300)}"
        os.set_blocking(proc.stdout.fileno(), False)
        yield Listener(proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # runuser and her Python
        proc.wait(timeout=10)


class Listener:
    def __init__(self, proc):
        self.proc = proc

    def poll(self):
        """What it was sent so far."""
        try:
            return os.read(self.proc.stdout.fileno(), 65536).decode(errors="replace")
        except BlockingIOError:
            return ""


def test_the_answer_streams_into_the_chat_and_the_teacher_sees_it(klass, chat, squatter):
    asked_before = klass.usage().get(DEE, {}).get("requests", 0)
    seen, reply = chat.ask(QUESTION)
    assert "stars" in reply and "Error" not in reply, reply[-400:]
    growing = [n for n in seen if 0 < n < len(reply)]
    assert len(growing) >= 5, f"the reply arrived in {len(growing) + 1} steps, not as it streamed: {seen}"
    asked = squatter.poll()
    assert not asked, f"Jupyternaut asked another student's listener on port {MCP_PORT}: {asked[:300]}"
    assert klass.usage()[DEE]["requests"] > asked_before, "the gateway did not count Jupyternaut's question"
    teacher = chat.page.context.browser.new_context(viewport={"width": 1280, "height": 800})  # her own browser, as it were
    try:
        page = teacher.new_page()
        log_in(page, klass, TEACHER)
        page.goto(klass.teacher_page)
        row = page.locator(f'#students tr[data-student="{DEE}"]')
        row.wait_for(timeout=15000)
        assert str(klass.usage()[DEE]["requests"]) in row.inner_text(), row.inner_text()
    finally:
        teacher.close()


def test_a_paused_student_reads_the_class_sentence_in_the_chat(klass, chat):
    teacher_post(klass, "pause", {"student": DEE, "paused": True})
    try:
        _, reply = chat.ask("And in our galaxy?")
    finally:
        teacher_post(klass, "pause", {"student": DEE, "paused": False})
    assert PAUSED in reply and "Traceback" not in reply, reply[-400:]


def test_a_student_at_her_budget_reads_the_budget_sentence_in_the_chat(klass, chat):
    teacher_post(klass, "limits", {"student": DEE, "limits": {"tokens_total": 1}})
    try:
        _, reply = chat.ask("And in the Andromeda galaxy?")
    finally:
        teacher_post(klass, "limits", {"student": DEE, "limits": {"tokens_total": 0}})
    assert "budget is used up" in reply and "ask your teacher" in reply and "Traceback" not in reply, reply[-400:]


def server_token(name):
    """The token of name's running server, from its environment (root reads it; nobody else can)."""
    for pid in subprocess.run(["pgrep", "-u", name, "-f", "jupyterhub-singleuser"], capture_output=True, text=True).stdout.split():
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
        if b"JUPYTERHUB_API_TOKEN" in env:
            return env[b"JUPYTERHUB_API_TOKEN"].decode()
    raise AssertionError(f"{name}'s server is not running")


def test_no_key_token_or_url_on_her_settings_her_page_or_her_files(klass, chat):
    secrets = {"the upstream key": klass.upstream_key(), "the teacher's token": klass.teacher_token(),
               "her server's token": server_token(DEE)}
    dee = klass.student(DEE)
    dee.start_server()  # running: this logs her into it
    settings = {path: dee.http.get(f"{dee.server}api/jupyternaut/{path}").text for path in ("config", "secrets")}
    assert all(r.strip().startswith("{") for r in settings.values()), settings
    screens = {"the settings' " + k: v for k, v in settings.items()}
    screens["her JupyterLab page"] = chat.page.content()
    home = os.path.expanduser(f"~{DEE}")
    for path in glob.glob(f"{home}/**", recursive=True) + glob.glob(f"{home}/.*/**", recursive=True):
        if "/.local/share/jupyter/runtime/" in path:  # the Jupyter server's own files, with its token as always: hers alone
            assert os.stat(os.path.dirname(path)).st_mode & 0o077 == 0, f"{os.path.dirname(path)} is open to others"
            continue
        if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) < 2 << 20 and "/.cache/" not in path:
            with open(path, errors="replace") as f:
                screens[path] = f.read()
    found = [f"{what} in {where}" for where, text in screens.items() for what, s in secrets.items() if s in text]
    found += [f"the gateway's address in {where}" for where, text in settings.items() if "services/llm" in text]
    assert not found, found
    assert "openai/sonar-pro" in settings["config"], settings["config"][:500]  # the class's model, nothing else


def test_a_bad_switch_is_one_sentence_and_the_class_keeps_running(klass):
    r = subprocess.run(["make", "--no-print-directory", "-C", REPO, "classroom"],
                       env=dict(klass.env, JUPYTER_AI="maybe"), capture_output=True, text=True, timeout=120)
    assert r.returncode and re.search(r"JUPYTER_AI is 'maybe': set it to on .* or off", r.stderr + r.stdout), r.stderr[-500:]
    assert requests.get(f"{klass.base}/hub/api/", timeout=10).status_code == 200


def test_the_teacher_switches_jupyter_ai_off_for_the_class(klass):
    klass.make("classroom-down")
    klass.make("classroom", JUPYTER_AI="off")
    try:
        dee = klass.student(DEE)
        dee.start_server()
        assert dee.http.get(f"{dee.server}api/jupyternaut/config").status_code == 404
        lab = dee.http.get(f"{dee.server}lab").text
        data = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', lab, re.S)[1])
        assert "@jupyter-ai/jupyternaut" in data["disabledExtensions"], data["disabledExtensions"]
    finally:
        klass.make("classroom-down")
        klass.make("classroom")
    dee = klass.student(DEE)
    dee.start_server()
    assert dee.http.get(f"{dee.server}api/jupyternaut/config").status_code == 200


def test_the_switch_and_the_configuration(tmp_path):
    assert switch("") and switch("on") and not switch("off")
    with pytest.raises(SystemExit, match="JUPYTER_AI is 'maybe'"):
        switch("maybe")
    on = server_config(True, "sonar-pro")
    assert on["ServerApp"]["jpserver_extensions"] == {"jupyter_server_mcp": False, "jupyter_ai_acp_client": False}
    assert on["PersonaManager"]["builtin_mcp_servers"] == [] and on["JupyternautExtension"]["initial_language_model"] == "openai/sonar-pro"
    off = server_config(False, "sonar-pro")
    assert off["ServerApp"]["jpserver_extensions"]["jupyter_ai_jupyternaut"] is False and "JupyternautExtension" not in off
    assert page_config(False)["disabledExtensions"]["@jupyter-ai/jupyternaut"]
    folder = config_folder(str(tmp_path / "jupyter"), True, "sonar-pro")
    assert os.stat(os.path.join(folder, "labconfig", "page_config.json")).st_mode & 0o777 == 0o644
