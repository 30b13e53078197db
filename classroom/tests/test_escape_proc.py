"""What every account reads of other processes while the make targets run: an outsider account (from
before the first make classroom to after the remove) and a student of the class read every
/proc/*/environ and cmdline they can, again and again. No secret of the class is among it, and
whatever they found opens neither the proxy's API nor the hub's."""
import json
import os
import time

import requests

from attack import over_socket
from conftest import OUTSIDER, STATE, TEACHER


def test_no_secret_readable_while_the_make_targets_run(klass):
    outsider = klass.scanners[0]
    rounds = outsider.rounds()
    for _ in range(15):  # a command line lives for milliseconds: give the scanners many chances
        klass.make("classroom-status")
    assert "hub: running" in klass.make("classroom-status")
    klass.make("classroom-down")
    klass.make("classroom")
    assert outsider.alive() and outsider.rounds() > rounds + 20, "the outsider's scanner did not keep reading"
    deadline = time.monotonic() + 10
    while klass.student_scanner.rounds() == 0 and time.monotonic() < deadline:  # started by that make classroom
        time.sleep(0.2)
    assert klass.student_scanner.alive() and klass.student_scanner.rounds() > 0
    assert len(klass.watch.secrets) >= 6, sorted(w for w, _ in klass.watch.secrets.values())
    leaks = klass.leaks()
    assert not leaks, "; ".join(leaks)


def candidates(klass):
    """Every value any scanner read in an environment or a command line that could be a token."""
    found = {""}
    for s in klass.scanners:
        for _, what, data in s.seen():
            for part in data.split("\0"):
                value = part.partition("=")[2] if what == "environ" else part
                if len(value) >= 16 and " " not in value:
                    found.add(value)
    return found


def test_what_accounts_can_read_opens_neither_the_proxy_nor_the_hub(klass):
    api = os.path.join(os.path.dirname(klass.gateway_dir), "proxy", "api.sock")  # the proxy's API: in a root-only folder
    with open(os.path.join(STATE, "proxy-auth-token")) as f:
        real = {"Authorization": "token " + f.read().strip()}
    def routes():
        status, body = over_socket(api, "GET", "/api/routes", real)
        assert status == 200, status
        return {path: route["target"] for path, route in json.loads(body).items()}

    before = routes()
    gateway = "/127.0.0.1/services/llm"  # the proxy routes by host (origins.py): the gateway as students' programs reach it
    assert gateway in before and "/llm--service.localhost/services/llm" in before and "/" in before, before
    tried = candidates(klass)
    assert len(tried) > 10, "the scanners found nothing to try"
    for value in tried:
        auth = {"Authorization": "token " + value} if value else {}
        status, _ = over_socket(api, "POST", "/api/routes" + gateway, auth, {"target": "http://127.0.0.1:9"})
        assert status in (401, 403), f"the proxy took a route change ({status})"
        assert over_socket(api, "GET", "/api/routes", auth)[0] in (401, 403)
        assert over_socket(api, "DELETE", "/api/routes/hub", auth)[0] in (401, 403)
        hub = requests.get(f"{klass.base}/hub/api/users", headers=auth, timeout=10)
        assert hub.status_code in (401, 403), f"the hub listed its users to a token someone read ({hub.status_code})"
        made = requests.post(f"{klass.base}/hub/api/users/{TEACHER}/tokens", json={}, headers=auth, timeout=10)
        assert made.status_code in (401, 403), f"the hub made a teacher's token ({made.status_code})"
    assert routes() == before
    assert OUTSIDER not in before
