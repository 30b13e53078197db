"""systemd_host.Machine joins a network namespace of the test's, as a host among the test's laptops
(here: run it under the machine's lock for network namespaces, as the other tests that make them).
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from netns import Laptop  # noqa: E402
from systemd_host import Machine  # noqa: E402


def test_a_container_in_a_network_namespace_of_the_tests_answers_from_its_address():
    laptop = Laptop("sdsys-net", 31)  # here its namespace is the class's host, 198.18.31.2; this machine the laptop
    try:
        with Machine(f"sdsys-net-{os.getpid()}", network=f"/run/netns/{laptop.name}") as m:
            # Not python3 -m http.server: it asks DNS for its name first, which this network cannot answer.
            m.run("systemd-run", "--unit=sdsys-web", "--working-directory=/usr/share/doc/systemd", "python3", "-c",
                  "import http.server as h, socketserver as s; "
                  "s.TCPServer(('0.0.0.0', 18131), h.SimpleHTTPRequestHandler).serve_forever()")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                r = subprocess.run(["curl", "-s", "-m", "2", "-o", "/dev/null", "-w", "%{http_code}",
                                    f"http://{laptop.addr}:18131/"], capture_output=True, text=True)
                if r.stdout == "200":
                    break
                time.sleep(0.2)
            assert r.stdout == "200", r
            assert m.run("ip", "-brief", "address", "show", "eth0").stdout.split()[2] == f"{laptop.addr}/24"
    finally:
        laptop.delete()
