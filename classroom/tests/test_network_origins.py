"""A class with a DNS name, through its HTTPS front door and its own CA: the hub at class.fd.test, each
student's server at NAME.class.fd.test, the teacher's page at llm--service.class.fd.test (origins.py).
The teacher's laptop (a network namespace, netns.py) opens a student's page, which tries everything
origin_attack.py lists: each fails, and the teacher's hub and page still work. The class's CA is valid
for the class's names alone and for a term, and its root's key is nowhere. Run as root, under
flock /work/locks/classroom.lock."""
import glob
import http.server
import os
import re
import ssl
import subprocess
import threading

import pytest
import requests
from playwright.sync_api import sync_playwright

from conftest import REPO, Class
from hubclient import Student, resolve
from netns import Laptop, delete_all, sh
from origin_attack import (after_the_flood, attack_all, cookie_bytes, open_as_teacher, publish, targets,
                           teacher_still_works, what_it_got)
from test_network import HTTP_PORT, HTTPS_PORT, login, served_certificate

NAME = "class.fd.test"
STUDENT, TEACHER = "sdorg-ada", "sdorg-teacher"
STATE = os.path.join(REPO, "build", "classroom-origins")
HUB = f"https://{NAME}:{HTTPS_PORT}"
TEACHER_PAGE = f"https://llm--service.{NAME}:{HTTPS_PORT}/services/llm/"  # what the class should say
CA_DAYS = 30


@pytest.fixture(scope="module")
def laptop():
    made = []
    try:
        made.append(Laptop("fd-lap3", 3))  # the teacher's
        resolve(NAME, "127.0.0.1")  # and the class machine's own programs reach the front door at its name
        made[0].hosts([f"198.18.3.1 {n}" for n in (NAME, f"llm--service.{NAME}", f"{STUDENT}.{NAME}", f"{TEACHER}.{NAME}",
                                                   "bank.fd.test", f"x.{NAME}")])
        yield made[0]
    finally:
        delete_all(made)


@pytest.fixture(scope="module")
def named_class(laptop):
    c = Class(students=[STUDENT], teacher=TEACHER, state=STATE, first_port=18100)
    c.env.update(CLASSROOM_HOST=NAME, CLASSROOM_HTTPS_PORT=str(HTTPS_PORT), CLASSROOM_HTTP_PORT=str(HTTP_PORT),
                 CLASS_CA_DAYS=str(CA_DAYS))
    c.remove()
    try:
        c.started = c.make("classroom")
        laptop.trust(os.path.join(STATE, "class-ca.crt"), "class CA")
        yield c
    finally:
        c.remove()
        os.unlink(c.roster)


def openssl(*args, input=None):
    return subprocess.run(["openssl", *args], input=input, capture_output=True, text=True)


def public_key(path, private=False):
    """The PEM public key of a certificate (or of a private key): "" if path holds neither."""
    r = openssl("pkey", "-in", path, "-pubout") if private else openssl("x509", "-in", path, "-noout", "-pubkey")
    return r.stdout if r.returncode == 0 else ""


def test_the_class_ca_is_for_the_class_names_only_and_for_a_term(named_class, laptop, tmp_path):
    root = os.path.join(STATE, "class-ca.crt")
    allowed = openssl("x509", "-in", root, "-noout", "-ext", "nameConstraints").stdout
    assert "critical" in allowed and f"DNS:{NAME}" in allowed and "Permitted" in allowed, allowed
    day = 86400  # valid now for most of CA_DAYS, and not beyond
    assert openssl("x509", "-in", root, "-noout", "-checkend", str((CA_DAYS - 1) * day)).returncode == 0
    assert openssl("x509", "-in", root, "-noout", "-checkend", str(CA_DAYS * day + 3600)).returncode == 1
    # No key of the root anywhere in the class's folder: only the intermediate's, which Caddy signs with.
    public = public_key(root)
    candidates = {os.path.join(d, f) for d, _, files in os.walk(os.path.join(STATE, "frontdoor")) for f in files}
    candidates |= set(glob.glob(os.path.join(STATE, "**", "*.key"), recursive=True))
    candidates |= set(glob.glob(os.path.join(STATE, "**", "*.pem"), recursive=True))
    assert any(public_key(c, private=True) for c in candidates), "no key found at all: the search is broken"
    for path in candidates:
        assert public_key(path, private=True) != public, f"the root's key is in {path}"
    assert f"class ready: {HUB}" in named_class.started, named_class.started[-1500:]
    assert f"teacher's page: {TEACHER_PAGE}" in named_class.started
    # Every name the class serves verifies; a certificate the intermediate's key makes for another site does not.
    for name in (NAME, f"llm--service.{NAME}", f"{STUDENT}.{NAME}"):
        assert "streamdemo class CA" in served_certificate(name), name
    inter, key = (os.path.join(STATE, "frontdoor", "ca", f) for f in ("intermediate.crt", "intermediate.key"))
    with sync_playwright() as p:
        browser = laptop.browser(p)
        try:
            for name, works in ((f"x.{NAME}", True), ("bank.fd.test", False)):
                server = serve_signed(tmp_path, name, inter, key)
                page = browser.new_page()
                try:
                    page.goto(f"https://{name}:{server.server_address[1]}/")
                    loaded = "signed by the class's key" in page.inner_text("body")
                except Exception as e:
                    assert "ERR_CERT" in str(e), e
                    loaded = False
                finally:
                    server.shutdown()
                    server.server_close()
                assert loaded == works, f"{name}: {'refused' if works else 'trusted'} by a browser that trusts the class CA"
        finally:
            browser.close()


def serve_signed(folder, name, inter, inter_key):
    """An HTTPS server on 198.18.3.1 whose certificate for name the class's intermediate key signed."""
    key, csr, cert, ext = (str(folder / f"{name}.{x}") for x in ("key", "csr", "pem", "cnf"))
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={name}",
       "-keyout", key, "-out", csr)
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{name}\nextendedKeyUsage=serverAuth\n")
    sh("openssl", "x509", "-req", "-in", csr, "-CA", inter, "-CAkey", inter_key, "-CAcreateserial", "-days", "1",
       "-extfile", ext, "-out", cert)
    with open(cert, "a") as f:
        f.write(open(inter).read())
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"signed by the class's key")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("198.18.3.1", 0), Hello)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def said(klass, what):
    """A URL make classroom said when the class started ("class ready: URL", "teacher's page: URL")."""
    return re.search(rf"{what}: (\S+)", klass.started).group(1)


def test_a_students_page_opened_by_the_teacher_from_a_laptop_gets_nothing(named_class, laptop):
    hub, teacher_page = said(named_class, "class ready"), said(named_class, "teacher's page")
    # On the class machine, through the front door: she starts her server, with her configuration.
    own = re.search(r"each student's server at (\S+)/user/NAME/", named_class.started)  # her origin, as announced
    student = Student(hub, STUDENT, named_class.password(STUDENT), server=own and own.group(1).replace("NAME", STUDENT))
    student.http.verify, student.http.trust_env = os.path.join(STATE, "class-ca.crt"), False  # not the machine's CA bundle
    student.login()
    publish(STUDENT, targets(hub, teacher_page, TEACHER, student.hub_xsrf()))
    student.start_server()
    server = student.hub_api("GET", f"users/{STUDENT}").json()["servers"][""]["url"]
    attack = (server if server.startswith("http") else hub + server) + "files/attack.html"
    with sync_playwright() as p:
        browser = laptop.browser(p)
        try:
            page = browser.new_context().new_page()  # the teacher's browser: one cookie jar
            login(page, hub, TEACHER, named_class.password(TEACHER))
            page.wait_for_url(re.compile(r".*/hub/.*"))
            page.goto(teacher_page)  # the teacher has used the page before: a session, a CSRF token
            page.locator("meta[name=class-csrf]").wait_for(state="attached", timeout=30_000)
            r = attack_all(page, attack)
            got = what_it_got(r)
            assert not got, "a student's page got " + "; ".join(got) + f" (all it tried: {r})"
            teacher_still_works(page.context.new_page(), hub, teacher_page, TEACHER, xsrf_may_be_shadowed=True)
            # Then a flood of big cookies for the class's domain: the front door has the browser drop them
            # (one sentence), the teacher logs in again, and all works.
            assert open_as_teacher(page, attack + "?flood")["big"] > 100_000, "the flood was not tried"
            assert after_the_flood(page, hub, TEACHER, named_class.password(TEACHER)) < 8192, "the flood is still sent"
            assert cookie_bytes(page, attack.split("/user/")[0]) < 8192, "the front door left the flood on her host"
            teacher_still_works(page, hub, teacher_page, TEACHER, xsrf_may_be_shadowed=True)
        finally:
            browser.close()


# A student's own laptop: the kit's CLI and any chat-completions client reach the class's gateway over
# HTTPS with a token she makes on the hub's token page, from a .env of three lines (docs/classroom/howto-laptop.md).
LAPTOP_ENV = "STREAMDEMO_BASE_URL={base}\nPERPLEXITY_API_KEY={token}\nSSL_CERT_FILE={ca}\n"
CLI = "/opt/streamdemo-classroom/bin/streamdemo"
OPENAI = os.path.join(REPO, ".tools", "clients", "openai", "bin", "python")  # make clients-setup
ASK_OPENAI = ("import openai; s = openai.OpenAI().chat.completions.create(model='sonar-pro', stream=True, messages="
              "[{'role': 'user', 'content': 'How many stars are in the universe?'}]); "
              "print(''.join(c.choices[0].delta.content or '' for c in s if c.choices))")


def token_from_the_hubs_page(laptop, hub, name, password):
    """The token a student makes in her laptop's browser on the hub's token page."""
    with sync_playwright() as p:
        browser = laptop.browser(p)
        try:
            page = browser.new_context().new_page()
            login(page, hub, name, password)
            page.wait_for_url(re.compile(r".*/(hub|user)/.*"))
            page.goto(f"{hub}/hub/token")
            page.fill("#token-note", "my laptop")
            page.click("#request-token-form button[type=submit]")
            page.wait_for_function("() => document.querySelector('#token-result').innerText.trim().length > 0",
                                   timeout=30_000)  # the page shows the token once the hub has made it
            token = page.locator("#token-result").inner_text().strip()
        finally:
            browser.close()
    assert re.fullmatch(r"[0-9a-f]{32,}", token), f"the hub's token page gave {token!r}"
    return token


def test_a_students_laptop_streams_through_the_class_with_a_token_from_the_hubs_page(named_class, laptop, tmp_path):
    assert os.path.exists(OPENAI), f"{OPENAI} is missing: run make clients-setup"
    base = re.search(r"students' own laptops: STREAMDEMO_BASE_URL=(\S+)", named_class.started).group(1)
    assert base == TEACHER_PAGE + "v1", base
    token = token_from_the_hubs_page(laptop, said(named_class, "class ready"), STUDENT, named_class.password(STUDENT))
    home = tmp_path / "laptop"
    home.mkdir()
    os.chmod(tmp_path, 0o755)
    ca = home / "class-ca.crt"
    ca.write_bytes(open(os.path.join(STATE, "class-ca.crt"), "rb").read())
    (home / ".env").write_text(LAPTOP_ENV.format(base=base, token=token, ca=ca))
    (home / ".git").mkdir()  # her own project: the .env files read stop at its root

    def on_the_laptop(*argv, **env):
        own = {"PATH": "/usr/bin:/bin", "HOME": str(home), **env}  # the laptop's environment, nothing of this machine's
        return subprocess.run(["ip", "netns", "exec", laptop.name, "env", "-i", *[f"{k}={v}" for k, v in own.items()],
                               *argv], cwd=home, capture_output=True, text=True, timeout=180)

    before = named_class.usage().get(STUDENT, {}).get("requests", 0)
    r = on_the_laptop(CLI, "ask", "How many stars are in the universe?")
    assert r.returncode == 0 and "stars" in r.stdout, r.stdout[-400:] + r.stderr[-800:]
    assert token not in r.stdout + r.stderr
    r = on_the_laptop(OPENAI, "-c", ASK_OPENAI, OPENAI_BASE_URL=base, OPENAI_API_KEY=token, SSL_CERT_FILE=str(ca))
    assert r.returncode == 0 and "stars" in r.stdout, r.stdout[-400:] + r.stderr[-800:]
    assert named_class.usage()[STUDENT]["requests"] >= before + 2, "the laptop's answers are not in the class's ledger"
    # Her budget holds on her laptop as in the class.
    limits = requests.post(f"{named_class.base}/services/llm/teacher/limits", json={"student": STUDENT, "limits": {"tokens_total": 1}},
                           headers={"Authorization": f"Bearer {named_class.teacher_token()}"}, timeout=30)
    assert limits.status_code == 200, limits.text
    r = on_the_laptop(CLI, "ask", "And in the Milky Way?")
    assert r.returncode != 0 and "budget is used up" in r.stderr, r.stdout[-400:] + r.stderr[-800:]
