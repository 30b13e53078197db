"""The classroom end to end, through the real hub, proxy, spawner and gateway:
students log in with their own passwords, the lesson streams chunk by chunk,
budgets refuse in one sentence, no student reaches the upstream key, the
teacher's page lists usage, and a restart keeps everything."""
import contextlib
import os
import re
import signal
import subprocess
import time

import pytest
import requests

from conftest import REPO, STATE, STUDENTS, TEACHER
from hubclient import Student, lesson_cells, text

LESSON = "streamdemo/notebooks/01-streaming-chat-completion.ipynb"
CELLS = lesson_cells(os.path.join(REPO, "notebooks", "01-streaming-chat-completion.ipynb"))
SETUP, STREAM = (CELLS[name] for name in ("setup", "stream"))
ADA, BO, CY = STUDENTS[:3]


def run_lesson(kernel):
    """Runs the lesson's set-up cell and its streaming cell; returns the outputs of both."""
    out = kernel.run(SETUP)
    assert not [o for o in out if o[1] == "error"], text(out)
    return out + kernel.run(STREAM)


def test_students_log_in_with_their_own_password_only(klass):
    assert "class ready: " + klass.url in klass.started
    with pytest.raises(PermissionError):
        Student(klass.url, ADA, klass.password(BO)).login()  # another student's password
    with pytest.raises(PermissionError):
        Student(klass.url, "sdtest-nobody", klass.password(ADA)).login()  # not on the roster
    mode = os.stat(os.path.join(STATE, "passwords")).st_mode & 0o777
    assert mode == 0o600 and os.stat(os.path.join(STATE, "teacher-api-token")).st_mode & 0o777 == 0o600


def test_lesson_streams_through_the_proxy_and_the_gateway(klass):
    ada = klass.student(ADA)
    ada.start_server()
    names = [c["name"] for c in ada.api("GET", "contents/streamdemo/notebooks")["content"]]
    # The lessons and nothing else: the solutions withheld, the harness kept out of the folder.
    assert sorted(names) == ["01-streaming-chat-completion.ipynb", "02-why-stream.ipynb"], names
    kernel = ada.open_kernel(LESSON)
    try:
        out = run_lesson(kernel)
    finally:
        kernel.close()
    said = text(out)
    assert f"at {klass.base}/services/llm/v1" in said and "your class provides the key" in said, said[:300]
    assert "stars" in said and "Error" not in said, said[-500:]
    streams = [t for t, kind, _ in out if kind == "stream"]
    assert len(streams) >= 20, f"the answer came in {len(streams)} messages, not chunk by chunk"
    assert streams[-1] - streams[1] > 1.0, "the chunks arrived together, not as they were sent"
    assert klass.usage()[ADA]["requests"] >= 1


def test_exhausted_budget_is_one_sentence_in_the_cell(klass):
    bo = klass.student(BO)
    bo.start_server()
    kernel = bo.open_kernel(LESSON)
    try:
        assert "stars" in text(run_lesson(kernel))  # the gateway learns of a student at their first request
        r = requests.post(f"{klass.base}/services/llm/teacher/limits", json={"student": BO, "limits": {"tokens_total": 1}},
                          headers={"Authorization": f"Bearer {klass.teacher_token()}"})
        assert r.status_code == 200, r.text
        said = text(kernel.run(STREAM)).strip()
    finally:
        kernel.close()
    last = said.splitlines()[-1]
    assert "budget is used up" in last and "ask your teacher" in last, said[-400:]
    assert "goroutine" not in said and "panic" not in said


def test_no_student_can_read_the_key_or_the_class_secrets(klass):
    key = klass.upstream_key()
    secrets = {"upstream key": key, "teacher API token": klass.teacher_token(),
               "proxy token": open(os.path.join(STATE, "proxy-auth-token")).read().strip()}
    targets = [os.path.join(klass.gateway_dir, name) for name in ("upstream-key", "ledger.sqlite", "cookie-secret", "practice.sock",
                                                                  "gateway.sock")] + [
        klass.gateway_dir] + [os.path.join(STATE, name) for name in (
            "passwords", "teacher-api-token", "proxy-auth-token", "jupyterhub.sqlite", "jupyterhub_cookie_secret")] + [
        STATE, f"/home/{BO}", f"/home/{BO}/streamdemo/notebooks/01-streaming-chat-completion.ipynb", "/root"]
    probe = PROBE.replace("TARGETS", ", ".join(f'"{t}"' for t in targets))
    ada = klass.student(ADA)
    ada.start_server()
    kernel = ada.open_kernel(LESSON)
    try:
        said = text(kernel.run(probe))
    finally:
        kernel.close()
    for what, value in secrets.items():
        assert value and value not in said, f"a student's kernel read the {what}"
    for t in targets:
        assert f"{t}: denied" in said, f"a student's kernel could read {t}: " + said[said.find(t):][:200]
    processes = int(re.search(r"processes seen: (\d+)", said).group(1))
    assert processes > 20, "the probe did not look at the machine's processes"
    # Nor can a student skip the gateway: the class's practice server wants the key the gateway holds, on a
    # socket in the gateway's folder (test_escape_services.py tries to connect).
    assert os.path.exists(os.path.join(klass.gateway_dir, "practice.sock"))


# A student's cell that tries everything: every process's environment and command line, then the files.
PROBE = '''
import ("fmt"; "os"; "path/filepath")
%%
seen := 0
procs, _ := filepath.Glob("/proc/[0-9]*")
for _, p := range procs {
	seen++
	for _, f := range []string{"environ", "cmdline"} {
		if b, err := os.ReadFile(p + "/" + f); err == nil {
			fmt.Printf("%s/%s: %q\\n", p, f, b)
		}
	}
}
fmt.Println("processes seen:", seen)
for _, t := range []string{TARGETS} {
	if entries, err := os.ReadDir(t); err == nil {
		fmt.Println(t+": listed", len(entries))
		continue
	}
	if b, err := os.ReadFile(t); err == nil {
		fmt.Printf("%s: read %q\\n", t, b)
	} else {
		fmt.Println(t + ": denied")
	}
}
'''


def test_teacher_page_lists_the_students_usage(klass):
    from playwright.sync_api import sync_playwright
    chromium = subprocess.run(["bash", "-c", "command -v chromium"], capture_output=True, text=True).stdout.strip()
    assert chromium, "chromium is missing: run make browser-setup"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{klass.url}/hub/login")
            page.fill("#username_input", TEACHER)
            page.fill("#password_input", klass.password(TEACHER))
            page.click("#login_submit")
            page.wait_for_url(re.compile(r".*/hub/.*"))
            page.goto(klass.teacher_page)
            row = page.locator(f'#students tr[data-student="{ADA}"]')
            row.wait_for(timeout=15000)
            os.makedirs(os.path.join(REPO, "build", "screenshots"), exist_ok=True)
            page.screenshot(path=os.path.join(REPO, "build", "screenshots", "classroom-teacher.png"), full_page=True)
            assert ADA in row.inner_text() and BO in page.locator("#students").inner_text()
            # Every roster student from the start, the one who never asked too, with no limit rather than 0.
            listed = page.eval_on_selector_all("#students tr[data-student]", "rows => rows.map(r => r.dataset.student)")
            assert set(STUDENTS) <= set(listed), listed
            never = page.locator(f'#students tr[data-student="{STUDENTS[3]}"] input.tokens-per-day')
            assert never.input_value() == "" and never.get_attribute("placeholder") == "no limit"
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1280, f"the teacher's page is {width} px wide: it does not fit a 1280 px screen"
        finally:
            browser.close()


def test_students_get_no_news_pop_up(klass):
    ada = klass.student(ADA)
    ada.start_server()
    r = ada.http.get(f"{ada.server}lab/api/settings/@jupyterlab/apputils-extension:notification")
    r.raise_for_status()
    got = r.json()  # the schema's defaults carry the runtime's overrides; the student set nothing of their own
    defaults = {k: v.get("default") for k, v in got["schema"]["properties"].items()}
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, defaults
    assert "fetchNews" not in got["settings"], got["settings"]


def test_a_student_added_to_a_running_class_logs_in_and_gets_a_card(klass):
    hub = open(os.path.join(STATE, "jupyterhub.pid")).read()
    with open(klass.roster, "a") as f:
        f.write("sdtest-eve\n")  # python3 -m classroom remove removes the account with the others
    out = klass.make("classroom")
    assert "already running" in out and open(os.path.join(STATE, "jupyterhub.pid")).read() == hub
    klass.student("sdtest-eve")  # logs in: no restart

    out = klass.make("classroom-handout")
    path = os.path.join(STATE, "handout.html")
    assert path in out and os.stat(path).st_mode & 0o777 == 0o600
    page = open(path).read()
    for name in STUDENTS + ["sdtest-eve"]:
        card = re.search(rf'<div class="card" data-student="{name}">(.*?)</div></div>', page).group(1)
        assert klass.url in card and f">{name}<" in card and f">{klass.password(name)}<" in card, card
    assert klass.password(TEACHER) not in page


def account_processes(names):
    """The live processes of these accounts, as "pid user command" (zombies awaiting their parent left out)."""
    out = subprocess.run(["ps", "-ww", "-o", "pid=,stat=,user:32=,args=", "-u", ",".join(names)],
                         capture_output=True, text=True).stdout
    rows = [line.split(None, 3) for line in out.splitlines() if line.strip()]
    return [f"{pid} {user} {args}" for pid, stat, user, args in rows if not stat.startswith("Z")]


def test_a_server_killed_hard_leaves_no_process(klass):
    cy = klass.student(CY)
    cy.start_server()
    kernel = cy.open_kernel(LESSON)
    kernel.run(SETUP)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not [p for p in account_processes([CY]) if "gopls" in p]:
        time.sleep(0.2)
    assert [p for p in account_processes([CY]) if "gopls" in p], "the kernel did not start gopls"
    server = [int(p.split()[0]) for p in account_processes([CY]) if "jupyterhub-singleuser" in p]
    for pid in server:
        os.kill(pid, signal.SIGKILL)  # the server dies without stopping its kernels
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and account_processes([CY]):
        time.sleep(0.2)
    assert not account_processes([CY]), account_processes([CY])


def test_down_and_up_again_keeps_accounts_notebooks_and_ledger(klass):
    ada = klass.student(ADA)
    ada.start_server()
    path = "streamdemo/notebooks/01-streaming-chat-completion.ipynb"
    nb = ada.api("GET", f"contents/{path}")
    nb["content"]["cells"][0]["source"] = "# My own notes on streaming\n"
    ada.api("PUT", f"contents/{path}", json={"type": "notebook", "content": nb["content"]})
    before = klass.usage()

    klass.make("classroom-down")
    assert not account_processes(STUDENTS + [TEACHER]), account_processes(STUDENTS + [TEACHER])
    ours = [p for p in account_processes(["streamdemo-llm"])  # this class's gateway and practice server
            if os.readlink(f"/proc/{p.split()[0]}/cwd") == klass.gateway_dir or klass.gateway_dir in p]
    assert not ours, ours
    assert not os.path.exists(os.path.join(STATE, "jupyterhub.pid"))
    with pytest.raises(requests.ConnectionError):
        requests.get(klass.base, timeout=2)

    klass.make("classroom")
    ada = klass.student(ADA)  # the same password still works
    ada.start_server()
    nb = ada.api("GET", f"contents/{path}")
    assert nb["content"]["cells"][0]["source"] == "# My own notes on streaming\n"
    after = klass.usage()
    for name in (ADA, BO):
        assert after[name]["requests"] == before[name]["requests"] >= 1
        assert after[name]["tokens_total"] == before[name]["tokens_total"]


def class_left(klass):
    """What of the class still runs: live processes of its pid files, listeners on its ports, and processes
    in or naming its gateway's folder (the gateway, the practice server on its socket there)."""
    left = []
    for name in ("jupyterhub.pid", "proxy.pid", "practice-server.pid"):
        path = os.path.join(klass.state, name)
        if os.path.exists(path) and os.path.exists(f"/proc/{open(path).read().strip()}"):
            left.append(f"{name} names a live process")
    ports = [klass.port + d for d in (0, 1, 2, 81, 90)]
    for line in subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True).stdout.splitlines():
        if any(f"127.0.0.1:{p} " in line for p in ports) and f"pid={os.getpid()}," not in line:  # not the test's own
            left.append(line)
    for pid in subprocess.run(["pgrep", "-f", klass.gateway_dir], capture_output=True, text=True).stdout.split():
        left.append(f"pid {pid} names {klass.gateway_dir}")
    for pid in subprocess.run(["pgrep", "-u", "streamdemo-llm"], capture_output=True, text=True).stdout.split():
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/cwd") == klass.gateway_dir:
                left.append(f"pid {pid} runs in {klass.gateway_dir}")
    return left


def test_a_failed_start_stops_what_it_started_and_a_keyless_upstream_works(klass):
    from stub import Upstream
    up = Upstream(["local-7b"])  # a local OpenAI-compatible server without a key
    try:
        klass.make("classroom-down")
        with klass.gateway_blocked(), open(os.path.join(STATE, "jupyterhub.log")) as f:
            f.seek(0, os.SEEK_END)
            r = subprocess.run(["make", "--no-print-directory", "-C", REPO, "classroom"],
                               env=dict(klass.env, UPSTREAM_URL=up.url), capture_output=True, text=True, timeout=600)
            log = f.read()  # what this start logged
        assert r.returncode, r.stdout[-1000:]
        assert not class_left(klass), f"{class_left(klass)}; the hub's log: {log[-3000:]}"
        said = [line for line in r.stderr.splitlines() if line.startswith("classroom: ")][-1]
        assert "so the class is stopped again: see" in said and "jupyterhub.log" in said, r.stderr[-1000:]
        assert "is there and is not a socket" in log  # it failed for the gateway's socket, not for a key file

        started = klass.make("classroom", UPSTREAM_URL=up.url)
        assert "model local-7b, chat completions" in started, started[-1000:]
        assert klass.usage_report()["allowed_models"] == ["local-7b"]
    finally:
        up.close()
        klass.make("classroom-down")
        klass.make("classroom")  # the practice upstream again, for the tests after this one
