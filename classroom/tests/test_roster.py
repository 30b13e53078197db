"""The roster is the truth: a student dropped from it loses, at the next make classroom, her login, her
tokens, her server and the gateway at once (her usage stays in the ledger); put back, she gets a login and
the gateway again; make classroom-remove deletes every account the class ever made, dropped ones too."""
import os
import pwd

import pytest
import requests

from conftest import REPO, Class, account_exists
from hubclient import Student
from test_classroom import account_processes

KEPT, DROPPED, TEACHER = "sdtest-ro1", "sdtest-ro2", "sdtest-roteacher"


@pytest.fixture(scope="module")
def rclass():
    c = Class(students=[KEPT, DROPPED], teacher=TEACHER, state=os.path.join(REPO, "build", "classroom-test-ro"), first_port=8700)
    c.remove()
    try:
        yield c
    finally:
        c.remove()
        os.unlink(c.roster)


def roster(c, *names):
    with open(c.roster, "w") as f:
        f.write("\n".join(names) + "\n")


def gateway(c, token):
    """The status of one question to the class's gateway with token."""
    return requests.post(f"{c.base}/services/llm/v1/chat/completions", headers={"Authorization": f"Bearer {token}"}, timeout=120,
                         json={"model": "sonar-pro", "stream": True, "messages": [{"role": "user", "content": "Stars?"}]}).status_code


def test_a_dropped_student_loses_login_tokens_server_and_gateway_at_once(rclass):
    c = rclass
    c.make("classroom")
    password = c.password(DROPPED)
    student = c.student(DROPPED)
    student.start_server()
    token = student.gateway_token()
    assert gateway(c, token) == 200  # the gateway now knows her token (and keeps the hub's answer a while)
    assert account_processes([DROPPED])

    roster(c, KEPT)
    out = c.make("classroom")
    assert f"{DROPPED} is no longer on the roster" in out, out[-1500:]
    with pytest.raises(PermissionError):
        Student(c.base, DROPPED, password).login()
    assert gateway(c, token) in (401, 403)  # at once: no waiting for the gateway's cache of the hub's answers
    assert requests.get(f"{c.base}/hub/api/user", headers={"Authorization": f"token {token}"}, timeout=10).status_code in (401, 403)
    assert not account_processes([DROPPED]), account_processes([DROPPED])
    assert DROPPED not in open(os.path.join(c.state, "passwords")).read()
    usage = {s["name"]: s for s in c.usage_report()["students"]}
    assert usage[DROPPED]["requests"] >= 1 and usage[DROPPED]["paused"], usage.get(DROPPED)  # kept, and shut
    assert account_exists(DROPPED)  # her files stay until the course ends
    c.student(KEPT)  # the others go on

    roster(c, KEPT, DROPPED)  # put back: a new password, the gateway again
    c.make("classroom")
    back = c.student(DROPPED)
    assert c.password(DROPPED) != password
    assert gateway(c, back.gateway_token()) == 200

    roster(c, KEPT)  # dropped again, then the course ends
    c.make("classroom")
    made = [KEPT, DROPPED, TEACHER]
    uids = {name: pwd.getpwnam(name).pw_uid for name in made}
    c.make("classroom-remove", CONFIRM="yes")
    left = [name for name in made if account_exists(name)]
    assert not left, f"make classroom-remove left the accounts {left}"
    homes = [f"/home/{name}" for name in made if os.path.exists(f"/home/{name}")]
    assert not homes, homes
    assert not [p for p in os.listdir("/proc") if p.isdigit() and _uid(p) in uids.values()]


def _uid(pid):
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
