"""A class served to students' laptops through its HTTPS front door (Caddy), the laptops being network
namespaces of their own (netns.py): a student logs in from their laptop's browser, trusting the
class's own CA (verified, never ignored), and the lesson streams over wss; the teacher's page works
from the teacher's laptop; plain HTTP only redirects; from a laptop, only the front door answers.
Then the school's own certificate for a DNS name. Run as root, under flock /work/locks/classroom."""
import contextlib
import json
import os
import pwd
import re
import signal
import subprocess
import time

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from conftest import REPO, Class, certificates
from hubclient import code_cells
from netns import Laptop, delete_all, sh

HOST, HTTPS_PORT, HTTP_PORT = "198.18.1.1", 18043, 18080
URL = f"https://{HOST}:{HTTPS_PORT}"
STUDENT, TEACHER = "sdnet-ada", "sdnet-teacher"
STATE = os.path.join(REPO, "build", "classroom-net")
LESSON = "streamdemo/notebooks/01-streaming-chat-completion.ipynb"
# Cells are found by the tag naming them in the lesson (lesson-harness/tests/cells.py), not by their text.
LESSON_FILE = os.path.join(REPO, "notebooks", "01-streaming-chat-completion.ipynb")
SETUP_CELL, STREAM_CELL = "setup", "stream"
SHOTS = os.path.join(REPO, "build", "screenshots")


@pytest.fixture(scope="module")
def laptops():
    made = []
    try:
        made.append(Laptop("fd-lap1", 1))  # the student's
        made.append(Laptop("fd-lap2", 2))  # the teacher's
        yield made
    finally:
        delete_all(made)


@pytest.fixture(scope="module")
def netclass(laptops):
    """A class served at https://198.18.1.1:18043 with its own CA; the laptops' scan from before it started."""
    c = Class(students=[STUDENT], teacher=TEACHER, state=STATE, first_port=18000)
    c.env.update(CLASSROOM_HOST=HOST, CLASSROOM_HTTPS_PORT=str(HTTPS_PORT), CLASSROOM_HTTP_PORT=str(HTTP_PORT))
    c.remove()
    try:
        c.open_before = laptops[0].open_ports(HOST)  # e.g. this machine's own 0.0.0.0 listeners
        c.started = c.make("classroom")
        yield c
    finally:
        c.remove()
        os.unlink(c.roster)


def login(page, url, name, password):
    page.goto(f"{url}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    page.click("#login_submit")


def code_cell(page, name):
    """The lesson's code cell named name, by its place among the page's cells."""
    with open(LESSON_FILE, encoding="utf-8") as f:
        nb = json.load(f)
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(len(nb["cells"]))  # every cell on the page, so the places match
    return cells.nth(code_cells(nb)[name][0])


def run_cell(page, cell, timeout=180_000):
    before = cell.locator(".jp-InputPrompt").inner_text().strip()
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    expect(cell.locator(".jp-InputPrompt")).not_to_have_text(
        re.compile(r"^\s*(" + re.escape(before) + r"|\[\*\]:|\[ \]:)\s*$"), timeout=timeout)


def test_the_class_says_where_it_is_and_hands_out_its_ca(netclass):
    ca = open(os.path.join(STATE, "class-ca.crt")).read()
    fp = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=ca, capture_output=True,
                        text=True, check=True).stdout.split("=", 1)[1].strip()
    assert f"class ready: {URL}" in netclass.started, netclass.started[-1500:]
    assert fp in netclass.started and "class-ca.crt" in netclass.started, netclass.started[-1500:]
    # An IP address: no origin per student, and the class says so (origins.py).
    assert f"origins: a class at an IP address has one origin, {URL}" in netclass.started, netclass.started[-1500:]
    for path in (STATE, os.path.join(STATE, "frontdoor")):  # the CA's key is in there: owner-only
        assert os.stat(path).st_mode & 0o077 == 0, path
    netclass.make("classroom-handout")
    page = open(os.path.join(STATE, "handout.html")).read()
    card = re.search(rf'<div class="card" data-student="{STUDENT}">(.*?)</div></div>', page).group(1)
    assert URL in card and fp in card, f"the card lacks {'the URL' if URL not in card else 'the CA fingerprint'}"


def test_a_student_logs_in_from_a_laptop_and_the_lesson_streams_over_wss(netclass, laptops):
    laptop = laptops[0]
    with sync_playwright() as p:
        untrusting = laptop.browser(p)  # the class's CA not yet trusted: the browser refuses the page
        try:
            with pytest.raises(Exception, match="ERR_CERT_AUTHORITY_INVALID"):
                untrusting.new_page().goto(f"{URL}/hub/login")
        finally:
            untrusting.close()
        laptop.trust(os.path.join(STATE, "class-ca.crt"), "class CA")
        browser = laptop.browser(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(60_000)
            sockets = []
            page.on("websocket", lambda ws: sockets.append(ws.url))
            r = page.goto(f"{URL}/hub/login")
            assert r.ok and "max-age=" in (r.headers.get("strict-transport-security") or ""), r.headers
            login(page, URL, STUDENT, netclass.password(STUDENT))
            page.wait_for_url(re.compile(rf"^{re.escape(URL)}/user/{STUDENT}/lab"), timeout=180_000)
            assert LESSON.rsplit("/", 1)[1] in page.url
            # The kernel is connected (over wss) once the toolbar shows it idle (GoNB: "unknown" until its first run).
            try:
                page.wait_for_function("""() => {
                    const s = document.querySelector('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator');
                    const k = document.querySelector('.jp-NotebookPanel-toolbar .jp-KernelName');
                    return s && k && ['idle', 'unknown'].includes(s.dataset.status) && k.innerText.includes('Go (gonb)');
                }""", timeout=120_000)
                run_cell(page, code_cell(page, SETUP_CELL))
            except Exception:
                os.makedirs(SHOTS, exist_ok=True)
                page.screenshot(path=os.path.join(SHOTS, "classroom-network-failed.png"))
                raise AssertionError(f"the lesson did not run; websockets opened: {sockets}")
            cell = code_cell(page, STREAM_CELL)
            cell.locator(".cm-content").click()
            page.keyboard.press("Shift+Enter")
            # The answer grows on the page while the cell still runs: it streams through the front door.
            grown = []
            for least in (40, 200):
                h = page.wait_for_function("""([cell, least]) => {
                    const text = cell.querySelector('.jp-OutputArea').innerText;
                    const running = cell.querySelector('.jp-InputPrompt').innerText.includes('*');
                    return text.length >= least && {text, running};
                }""", arg=[cell.element_handle(), least], timeout=120_000).json_value()
                grown.append(h)
            assert all(g["running"] for g in grown), "the answer appeared only once the cell had finished"
            expect(cell.locator(".jp-OutputArea")).to_contain_text("stars", timeout=60_000)
            os.makedirs(SHOTS, exist_ok=True)
            page.screenshot(path=os.path.join(SHOTS, "classroom-network-lesson.png"))
            kernels = [u for u in sockets if u.startswith(f"wss://{HOST}:{HTTPS_PORT}/user/{STUDENT}/api/kernels/")]
            assert kernels, sockets
            cookies = page.context.cookies()
            assert cookies and all(c["secure"] for c in cookies), [(c["name"], c["secure"]) for c in cookies]
        finally:
            browser.close()


def test_the_teachers_page_works_from_the_teachers_laptop(netclass, laptops):
    laptop = laptops[1]
    laptop.trust(os.path.join(STATE, "class-ca.crt"), "class CA")
    with sync_playwright() as p:
        browser = laptop.browser(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            login(page, URL, TEACHER, netclass.password(TEACHER))
            page.wait_for_url(re.compile(r".*/hub/.*"))
            page.goto(f"{URL}/services/llm/")
            row = page.locator(f'#students tr[data-student="{STUDENT}"]')
            row.wait_for(timeout=30_000)
            assert page.url.startswith(f"{URL}/services/llm/"), page.url
            session = [c for c in page.context.cookies() if c["path"].startswith("/services/llm")]
            assert session and all(c["secure"] for c in session), session
        finally:
            browser.close()


def test_plain_http_never_shows_a_login_page(netclass, laptops):
    laptop = laptops[0]
    code, said = laptop.curl(f"http://{HOST}:{HTTP_PORT}/hub/login")
    assert code in (301, 308) and f"location: {URL}/hub/login" in said.lower(), said[:500]
    assert "password" not in said.lower(), said[:500]
    code, said = laptop.curl(f"http://{HOST}:{HTTPS_PORT}/hub/login")  # plain HTTP to the HTTPS port
    assert code == 400 and "password" not in said.lower(), said[:500]


def cwd(pid):
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return ""


def class_processes(klass):
    """Pids of the class: below its hub, front door or practice server, run by its students or teacher, or
    its gateway (the gateway's account also runs every other class's gateway and practice server)."""
    roots = {open(os.path.join(STATE, f)).read().strip() for f in ("jupyterhub.pid", "caddy.pid", "practice-server.pid")
             if os.path.exists(os.path.join(STATE, f))}
    accounts = {str(pwd.getpwnam(n).pw_uid) for n in klass.students + [TEACHER] if account(n)}
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        p, seen = pid, 0
        try:
            status = open(f"/proc/{pid}/status").read()
            if "State:\tZ" in status:  # a zombie runs nothing
                continue
            if status.split("Uid:")[1].split()[0] in accounts or cwd(pid) == klass.gateway_dir:
                found.add(pid)
                continue
            while p not in ("0", "1") and seen < 64:
                if p in roots:
                    found.add(pid)
                    break
                p, seen = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1], seen + 1
        except (OSError, IndexError):
            continue
    return found


def account(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def the_classes(klass, ports):
    """Of these ports, those whose listener is one of the class's processes (or whose listener is unknown):
    a port some other program of this machine opened meanwhile is not the class's."""
    ours = class_processes(klass)
    keep = set()
    for port in ports:
        pids = set(re.findall(r"pid=(\d+)", sh("ss", "-Hltnp", f"sport = :{port}").stdout))
        if not pids or pids & ours:
            keep.add(port)
    return keep


def test_from_a_laptop_only_the_front_door_answers(netclass, laptops):
    # A student's server and kernel run (the lesson above), and the teacher's page has been used.
    found = the_classes(netclass, laptops[0].open_ports(HOST) - netclass.open_before)
    assert found == {HTTPS_PORT, HTTP_PORT}, f"open on {HOST} beyond the front door: {sorted(found)}; " + \
        sh("ss", "-Hltnp").stdout
    found = the_classes(netclass, laptops[1].open_ports("198.18.2.1") - netclass.open_before)
    assert not found, f"open on this machine's other address: {sorted(found)}"




def test_every_class_process_killed_hard_then_make_classroom_keeps_its_certificates(netclass, laptops):
    """kill -9 of the front door, the hub and all of the class; make classroom brings it back at the same
    address with the same class CA and certificate, which the laptop still verifies."""
    ca, laptop = os.path.join(STATE, "class-ca.crt"), laptops[0]
    kept, served = certificates(STATE), served_certificate(HOST, HOST)
    assert ca in kept and "streamdemo class CA" in served, (sorted(kept), served)
    deadline = time.monotonic() + 15
    while class_processes(netclass) and time.monotonic() < deadline:  # again: one may have been forking
        for pid in class_processes(netclass):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.2)
    assert not class_processes(netclass), class_processes(netclass)
    code, _ = laptop.curl("--cacert", ca, f"{URL}/hub/login")
    assert code == 0, "the front door still answers after every class process was killed"
    out = netclass.make("classroom")
    assert f"class ready: {URL}" in out, out[-1500:]
    assert certificates(STATE) == kept, "the class's certificates changed through the crash"
    assert served_certificate(HOST, HOST) == served
    code, said = laptop.curl("--cacert", ca, f"{URL}/hub/login")
    assert code == 200 and 'id="password_input"' in said, said[-800:]


NAME = "class.fd.test"  # resolved by the laptops alone (/etc/netns/NAME/hosts)
NAME_URL = f"https://{NAME}:{HTTPS_PORT}"


def served_certificate(name, address="127.0.0.1"):
    """The certificate the front door at address serves for name, as openssl prints it (serial, dates, issuer)."""
    hello = subprocess.run(["openssl", "s_client", "-connect", f"{address}:{HTTPS_PORT}", "-servername", name],
                           input="", capture_output=True, text=True, timeout=20).stdout
    return subprocess.run(["openssl", "x509", "-noout", "-serial", "-issuer", "-dates"], input=hello,
                          capture_output=True, text=True).stdout


def school_ca(folder, names=(NAME, f"*.{NAME}")):
    """A school's CA and its certificate for names, made with openssl; returns (ca, cert, key) paths."""
    ca, ca_key, cert, key = (os.path.join(folder, n) for n in ("school-ca.pem", "school-ca.key", "class.pem", "class.key"))
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
       "-subj", "/CN=School test CA", "-keyout", ca_key, "-out", ca,
       "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={NAME}",
       "-keyout", key, "-out", cert + ".csr")
    ext = os.path.join(folder, "ext.cnf")
    with open(ext, "w") as f:
        f.write(f"subjectAltName={','.join('DNS:' + n for n in names)}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    sh("openssl", "x509", "-req", "-in", cert + ".csr", "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "7",
       "-extfile", ext, "-out", cert)
    return ca, cert, key


def test_the_schools_certificate_for_a_dns_name(netclass, laptops, tmp_path):
    laptop = laptops[0]
    laptop.hosts([f"{HOST} {NAME}"])
    netclass.make("classroom-down")
    # A certificate for the class's name alone: each student's server has a name of its own under it.
    os.makedirs(tmp_path / "one")
    _, cert, key = school_ca(str(tmp_path / "one"), names=(NAME,))
    r = subprocess.run(["make", "--no-print-directory", "-C", REPO, "classroom"], capture_output=True, text=True,
                       env=dict(netclass.env, CLASSROOM_HOST=NAME, TLS_CERT=cert, TLS_KEY=key), timeout=600)
    said = [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("classroom: ")]
    assert r.returncode and said and f"does not cover *.{NAME}" in said[0] and "must name both" in said[0], \
        r.stdout[-800:] + r.stderr[-800:]
    ca, cert, key = school_ca(str(tmp_path))
    out = netclass.make("classroom", CLASSROOM_HOST=NAME, TLS_CERT=cert, TLS_KEY=key)
    assert f"class ready: {NAME_URL}" in out, out[-1500:]
    code, said = laptop.curl("--cacert", ca, f"{NAME_URL}/hub/login")
    assert code == 200 and 'id="password_input"' in said, said[-800:]
    assert "strict-transport-security: max-age=" in said.lower()
    code, said = laptop.curl(f"{NAME_URL}/hub/login")  # without the school's CA: refused, never shown
    assert code == 0 and "password_input" not in said, said[-500:]
    serial = sh("openssl", "x509", "-in", cert, "-noout", "-serial").stdout
    assert serial in served_certificate(NAME) and serial in served_certificate(f"{STUDENT}.{NAME}")
    netclass.make("classroom-handout")  # the school's certificate: no class CA to compare on the cards
    assert 'class="ca"' not in open(os.path.join(STATE, "handout.html")).read()


PEBBLE_DIR = os.path.join(REPO, "classroom", "tests", "pebble")
PEBBLE_PORT, PEBBLE_ADMIN = 18014, 18015
LIFETIME = 60  # seconds: Pebble's certificates for the renewal test


@pytest.fixture
def pebble(tmp_path):
    """Pebble, Let's Encrypt's test ACME CA, on loopback: every challenge passes (PEBBLE_VA_ALWAYS_VALID),
    certificates live LIFETIME seconds. Yields (directory URL, the CA file that trusts its HTTPS, admin URL)."""
    binary = os.path.join(REPO, ".tools", "bin", "pebble")
    assert os.access(binary, os.X_OK), "Pebble is missing: run make pebble-setup"
    source = subprocess.run(["go", "list", "-m", "-f", "{{.Dir}}", "github.com/letsencrypt/pebble/v2"], cwd=PEBBLE_DIR,
                            env=dict(os.environ, GOWORK="off", GOFLAGS="-mod=readonly"), capture_output=True, text=True,
                            check=True).stdout.strip()
    certs = os.path.join(source, "test", "certs")
    config = tmp_path / "pebble.json"
    config.write_text(json.dumps({"pebble": {
        "listenAddress": f"127.0.0.1:{PEBBLE_PORT}", "managementListenAddress": f"127.0.0.1:{PEBBLE_ADMIN}",
        "certificate": f"{certs}/localhost/cert.pem", "privateKey": f"{certs}/localhost/key.pem",
        "httpPort": HTTP_PORT, "tlsPort": HTTPS_PORT, "ocspResponderURL": "", "externalAccountBindingRequired": False,
        "profiles": {"default": {"description": "short-lived, for the renewal test", "validityPeriod": LIFETIME}}}}))
    env = dict(os.environ, PEBBLE_VA_ALWAYS_VALID="1", PEBBLE_WFE_NONCEREJECT="0", PEBBLE_AUTHZREUSE="100")
    with open(tmp_path / "pebble.log", "w") as log:
        proc = subprocess.Popen([binary, "-config", str(config)], cwd=str(tmp_path), env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    ca = f"{certs}/pebble.minica.pem"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"https://127.0.0.1:{PEBBLE_PORT}/dir", verify=ca, timeout=2).raise_for_status()
                break
            except requests.RequestException:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "pebble.log").read_text()
                time.sleep(0.2)
        yield f"https://127.0.0.1:{PEBBLE_PORT}/dir", ca, f"https://127.0.0.1:{PEBBLE_ADMIN}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_an_acme_certificate_renews_while_the_class_runs(netclass, laptops, pebble, tmp_path):
    directory, pebble_ca, admin = pebble
    laptop = laptops[0]
    laptop.hosts([f"{HOST} {NAME}"])
    netclass.make("classroom-down")
    out = netclass.make("classroom", CLASSROOM_HOST=NAME, ACME_EMAIL="teacher@fd.test", ACME_DIRECTORY=directory,
                        ACME_CA_ROOT=pebble_ca, CLASSROOM_RENEW_INTERVAL="2s")
    assert f"class ready: {NAME_URL}" in out and "acme" in out, out[-1500:]
    root = tmp_path / "pebble-root.pem"  # the root Pebble signs with (made at its start)
    root.write_text(requests.get(f"{admin}/roots/0", verify=pebble_ca, timeout=10).text)
    pids = [open(os.path.join(STATE, f)).read() for f in ("caddy.pid", "jupyterhub.pid")]
    first = served_certificate(NAME)
    assert "Pebble" in first, first
    for name in (f"{STUDENT}.{NAME}", f"llm--service.{NAME}"):  # one certificate per name: no wildcard without DNS-01
        deadline = time.monotonic() + 60  # the front door obtains them after the hub's
        while "Pebble" not in served_certificate(name) and time.monotonic() < deadline:
            time.sleep(1)
        assert "Pebble" in served_certificate(name), name
    code, said = laptop.curl("--cacert", str(root), f"{NAME_URL}/hub/login")
    assert code == 200 and 'id="password_input"' in said, said[-800:]
    deadline, now = time.monotonic() + 3 * LIFETIME, first
    while now.split("\n")[0] == first.split("\n")[0] and time.monotonic() < deadline:
        time.sleep(2)
        now = served_certificate(NAME)
    assert now.split("\n")[0] != first.split("\n")[0], f"still the first certificate after {3 * LIFETIME} s: {first}"
    assert [open(os.path.join(STATE, f)).read() for f in ("caddy.pid", "jupyterhub.pid")] == pids  # no restart
    assert all(os.path.exists(f"/proc/{p.strip()}") for p in pids)
    code, said = laptop.curl("--cacert", str(root), f"{NAME_URL}/hub/login")  # the renewed one verifies too
    assert code == 200 and 'id="password_input"' in said, said[-800:]
