"""The front door's Caddyfile and checks (classroom/frontdoor.py) without a class: the sites for an IP address, a
DNS name with the class CA or the school's certificate, ACME names per student; default_bind, the http port
left closed when taken, renew_interval; the one-sentence refusals; the CA's fingerprint as openssl says it.
Fast, no accounts. The front door serving a class is test_network.py's and test_network_origins.py's."""
import os
import socket
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, REPO)
from classroom import frontdoor, settings  # noqa: E402
from classroom.config import Refused  # noqa: E402


@pytest.fixture
def klass(tmp_path):
    """klass(**variables): a class whose state and runtime are under tmp_path, with those variables set."""
    roster = tmp_path / "roster"
    roster.write_text("# period 3\nada\nbo\n")
    runtime = tmp_path / "runtime"
    (runtime / "bin").mkdir(parents=True)

    def make(**variables):
        env = {"PATH": os.environ["PATH"], "CLASSROOM_DIR": str(tmp_path / "state"), "CLASSROOM_RUNTIME": str(runtime),
               "CLASS_VAR": str(tmp_path / "var"), "ROSTER": str(roster), "CLASSROOM_PORT": "18177",
               "CLASSROOM_HTTP_PORT": str(free_port()), **variables}
        return settings.load(env)
    return make


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def site_line(text):
    """The line that opens the class's site block (after the global options)."""
    return next(line for line in text.split("\n}\n", 1)[1].splitlines() if line.strip())


def test_an_ip_address_is_one_site_bound_to_that_address_with_the_class_ca(klass):
    c = klass(CLASSROOM_HOST="198.18.9.1", CLASSROOM_HTTPS_PORT="18943")
    text = frontdoor.config_text(c)
    assert site_line(text) == "https://198.18.9.1:18943 {"
    assert "\tdefault_bind 198.18.9.1\n" in text and "\ttls internal\n" in text
    ca = os.path.join(c.frontdoor_dir, "ca")
    for line in (f"cert {ca}/root.crt", f"cert {ca}/intermediate.crt", f"key {ca}/intermediate.key",
                 f"admin unix/{c.frontdoor_dir}/admin.sock", "reverse_proxy 127.0.0.1:18177 {", "flush_interval -1",
                 "@planted expression `{http.request.header.Cookie}.size() > 8192`"):
        assert line in text, line
    assert "disable_redirects" not in text and "renew_interval" not in text
    v6 = frontdoor.config_text(klass(CLASSROOM_HOST="fd00::1"))
    assert site_line(v6) == "https://[fd00::1]:443 {" and "\tdefault_bind fd00::1\n" in v6


def test_a_dns_name_serves_its_subdomains_too_and_binds_every_address(klass):
    text = frontdoor.config_text(klass(CLASSROOM_HOST="class.fd.test", CLASSROOM_HTTPS_PORT="18944"))
    assert site_line(text) == "https://class.fd.test:18944, https://*.class.fd.test:18944 {"
    assert "default_bind" not in text and "\ttls internal\n" in text and "pki {" in text


def test_the_schools_certificate_is_named_by_its_real_path(klass, tmp_path):
    (tmp_path / "real").mkdir()
    for name in ("cert.pem", "key.pem"):
        (tmp_path / "real" / name).write_text("PEM\n")
        os.symlink(tmp_path / "real" / name, tmp_path / name)
    text = frontdoor.config_text(klass(CLASSROOM_HOST="class.fd.test", TLS_CERT=str(tmp_path / "cert.pem"),
                                       TLS_KEY=str(tmp_path / "key.pem")))
    assert f"\ttls {tmp_path}/real/cert.pem {tmp_path}/real/key.pem\n" in text
    assert "pki {" not in text and site_line(text) == "https://class.fd.test:443, https://*.class.fd.test:443 {"


def test_acme_gets_one_site_per_name_of_the_class(klass, monkeypatch, tmp_path):
    asked = []

    def origins(c, *args):
        asked.append(args)
        return 0, "class.fd.test\nllm--service.class.fd.test\nada.class.fd.test\nbo.class.fd.test"
    monkeypatch.setattr(frontdoor, "origins", origins)
    bundle = tmp_path / "pebble.pem"
    bundle.write_text("PEM\n")
    c = klass(CLASSROOM_HOST="class.fd.test", ACME_EMAIL="t@school.test", ACME_DIRECTORY="https://127.0.0.1:14000/dir",
              ACME_CA_ROOT=str(bundle), CLASSROOM_RENEW_INTERVAL="2s", TEACHER="ms-lee")
    text = frontdoor.config_text(c)
    assert asked == [("names", "class.fd.test", "ms-lee", "ada", "bo")]
    assert site_line(text) == ("https://class.fd.test:443, https://llm--service.class.fd.test:443, "
                               "https://ada.class.fd.test:443, https://bo.class.fd.test:443 {")
    assert (f"\ttls t@school.test {{\n\t\tca https://127.0.0.1:14000/dir\n\t\tca_root {bundle}\n\t}}\n") in text
    assert "\trenew_interval 2s\n" in text and "pki {" not in text and frontdoor.mode(c) == "acme"


def test_the_http_port_is_left_closed_while_something_else_listens_on_it(klass):
    c = klass(CLASSROOM_HOST="198.18.9.1")
    with socket.socket(socket.AF_INET6) as s:  # any address, IPv6 too
        s.bind(("::", int(c["http_port"])))
        assert "disable_redirects" not in frontdoor.config_text(c)
        s.listen()
        assert "\tauto_https disable_redirects\n" in frontdoor.config_text(c)
    assert "disable_redirects" not in frontdoor.config_text(c)


def refused(c):
    with pytest.raises(Refused) as e:
        frontdoor.check(c)
    return str(e.value)


def test_check_refuses_with_one_sentence(klass, tmp_path):
    c = klass(CLASSROOM_HOST="198.18.9.1")
    assert "caddy is missing: run make classroom again" in refused(c)
    caddy = tmp_path / "runtime" / "bin" / "caddy"
    caddy.write_text("#!/bin/sh\n")
    caddy.chmod(0o755)
    frontdoor.check(c)
    cert = tmp_path / "cert.pem"
    cert.write_text("PEM\n")
    assert refused(klass(CLASSROOM_HOST="198.18.9.1", TLS_CERT=str(cert))) == \
        "TLS_CERT and TLS_KEY must both name readable PEM files (the certificate and its key)"
    assert "ACME_CA_ROOT /nonexistent cannot be read" in refused(klass(CLASSROOM_HOST="198.18.9.1",
                                                                        ACME_CA_ROOT="/nonexistent"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = str(s.getsockname()[1])
        assert refused(klass(CLASSROOM_HOST="198.18.9.1", CLASSROOM_HTTPS_PORT=port)) == \
            f"port {port} is taken on this machine: stop what listens there, or choose CLASSROOM_HTTPS_PORT=..."
    # A running class keeps its address until it stops.
    os.makedirs(c.dir)
    with open(c.pid_file("jupyterhub"), "w") as f:
        f.write(f"{os.getpid()}\n")
    with open(c.state("class-url"), "w") as f:
        f.write("http://localhost:18177\n")
    assert refused(c) == ("the class runs at http://localhost:18177: stop it first (make classroom-down) to serve it "
                          "at https://198.18.9.1")
    frontdoor.check(klass())  # the loopback class it runs as


def test_the_fingerprint_is_openssls(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-subj", "/CN=fd31", "-days", "1"], check=True, capture_output=True)
    said = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha256"], check=True,
                          capture_output=True, text=True).stdout
    assert frontdoor.ca_fingerprint(cert.read_text()) == said.strip().split("=", 1)[1]


def test_the_program_says_the_address_and_status(klass, tmp_path):
    env = {"PATH": os.environ["PATH"], "CLASSROOM_DIR": str(tmp_path / "state"), "CLASSROOM_HOST": "class.fd.test",
           "CLASSROOM_HTTPS_PORT": "8443"}

    def program(*args):
        return subprocess.run([sys.executable, "-m", "classroom", "frontdoor", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=60)
    assert program("url").stdout == "https://class.fd.test:8443\n"
    assert program("status").stdout == "==> front door: not running\n"
    r = program("stop")
    assert (r.returncode, r.stdout) == (0, "==> the front door is not running\n")
    assert program("stop", "--quiet").stdout == ""
    r = program("frobnicate")
    assert r.returncode == 1 and r.stderr.startswith("classroom: usage: python3 -m classroom frontdoor ")


def test_the_running_front_doors_own_http_port_is_not_taken_by_others(klass):
    """Started again (make classroom for a new student), the front door keeps redirecting on the http port it
    holds itself; one started while another program held the port keeps it closed."""
    c = klass(CLASSROOM_HOST="198.18.9.1")
    os.makedirs(c.frontdoor_dir)
    with socket.socket() as s:
        s.bind(("127.0.0.1", int(c["http_port"])))
        s.listen()
        with open(frontdoor.path(c, "Caddyfile"), "w") as f:
            f.write(frontdoor.config_text(c))  # another program's port: closed
        with open(c.pid_file("caddy"), "w") as f:
            f.write(f"{os.getpid()}\n")  # the front door runs, and it holds the port
        assert "disable_redirects" in frontdoor.config_text(c)
        with open(frontdoor.path(c, "Caddyfile"), "w") as f:
            f.write(frontdoor.config_text(c.__class__(dict(c.values, http_port=str(free_port())), c.environ)))
        assert "disable_redirects" not in frontdoor.config_text(c)
        os.unlink(c.pid_file("caddy"))
        assert "disable_redirects" in frontdoor.config_text(c)
