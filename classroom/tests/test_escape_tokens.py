"""Every kind of token a student holds or could obtain, against the gateway's teacher switches through
the real hub: only the teacher-scripts token and the teacher's own page session (with its CSRF
token) may set limits or pause; nothing a student's server sees, no token of the admin teacher
without the teacher scope, no service's token, no expired or revoked token."""
import base64
import glob
import os
import re
import time

import requests

from conftest import STUDENTS, TEACHER

ADA = STUDENTS[0]
SWITCHES = {"teacher/limits": {"student": "*", "limits": {"tokens_per_day": 0}},  # the defaults: no limit
            "teacher/pause": {"all": False}}  # the class: not paused


def process_env(klass, match):
    """The environment of the class's process whose command line contains match (read as root)."""
    hub_api = f"127.0.0.1:{klass.port + 81}/"
    for d in glob.glob("/proc/[0-9]*"):
        try:
            cmd = open(d + "/cmdline", "rb").read().decode(errors="replace").replace("\0", " ")
            env = dict(kv.split("=", 1) for kv in open(d + "/environ", "rb").read().decode(errors="replace").split("\0")
                       if "=" in kv)
        except OSError:
            continue
        if match in cmd and hub_api in env.get("JUPYTERHUB_API_URL", ""):
            return env
    raise AssertionError(f"no process of the class runs {match!r}")


def server_token(klass, name):
    for d in glob.glob("/proc/[0-9]*"):
        try:
            cmd = open(d + "/cmdline", "rb").read().decode(errors="replace")
            env = dict(kv.split("=", 1) for kv in open(d + "/environ", "rb").read().decode(errors="replace").split("\0")
                       if "=" in kv)
        except OSError:
            continue
        if "jupyterhub-singleuser" in cmd and env.get("JUPYTERHUB_USER") == name:
            return env["JUPYTERHUB_API_TOKEN"]
    raise AssertionError(f"{name}'s server is not running")


def signed_value(raw):
    """The value in a Tornado signed cookie (version 2: 2|key|timestamp|name|value|signature)."""
    field = raw.strip('"').split("|")[4]
    return base64.b64decode(field.split(":", 1)[1]).decode()


def oauth_visit(teacher, server, name):
    """The teacher opens a student's server (at its origin, server); returns the OAuth token that server
    now holds for them."""
    r = teacher.http.get(f"{server}/user/{name}/lab", timeout=60)
    if "oauth2/authorize" in r.url and "<form" in r.text:  # the hub asks the teacher to confirm
        fields = re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', r.text)
        r = teacher.http.post(r.url, data=fields, timeout=60)
    r.raise_for_status()
    cookie = teacher.http.cookies.get(f"jupyterhub-user-{name}", path=f"/user/{name}/")
    assert cookie, f"the teacher's visit gave {name}'s server no OAuth cookie: {r.url}"
    return signed_value(cookie)


def new_token(teacher, scopes, **extra):
    r = teacher.hub_api("POST", f"users/{TEACHER}/tokens", json=dict(scopes=scopes, note="sdtest", **extra))
    assert r.status_code == 201, r.text
    return r.json()


def switch(klass, path, token=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(kw.pop("headers", {}))
    return requests.post(f"{klass.base}/services/llm/{path}", json=SWITCHES[path], headers=headers, timeout=30, **kw)


def switch_log(klass):
    r = requests.get(f"{klass.base}/services/llm/usage", headers={"Authorization": f"Bearer {klass.teacher_token()}"},
                     timeout=30)
    r.raise_for_status()
    return r.json()["switches"]


def test_only_the_teacher_scope_sets_limits_and_pauses(klass):
    ada = klass.student(ADA)
    ada.start_server()
    teacher = klass.student(TEACHER)
    teacher.start_server()
    expired = new_token(teacher, ["custom:llm:teacher", "access:services!service=llm"], expires_in=1)
    revoked = new_token(teacher, ["custom:llm:teacher", "access:services!service=llm"])
    assert teacher.hub_api("DELETE", f"users/{TEACHER}/tokens/{revoked['id']}").status_code == 204
    refused = {
        "a student's server token": server_token(klass, ADA),
        "the OAuth token of the teacher's visit to a student's server": oauth_visit(teacher, klass.server(ADA), ADA),
        "an admin teacher's token with tiny scopes": new_token(teacher, ["read:users:name!user"])["token"],
        "an admin teacher's token for the gateway only": new_token(teacher, ["access:services!service=llm"])["token"],
        "the teacher's own server token": server_token(klass, TEACHER),
        "the idle culler's service token": process_env(klass, "jupyterhub_idle_culler")["JUPYTERHUB_API_TOKEN"],
        "the gateway's own service token": process_env(klass, "gateway serve")["JUPYTERHUB_API_TOKEN"],
        "an expired teacher token": expired["token"],
        "a revoked teacher token": revoked["token"],
        "no token": None,
    }
    for value in refused.values():
        klass.watch.add("a test token", value)
    time.sleep(1.5)  # the expired token's second is over
    before = switch_log(klass)
    for what, token in refused.items():
        for path in SWITCHES:
            r = switch(klass, path, token)
            assert r.status_code in (401, 403), f"{what} passed {path}: HTTP {r.status_code} {r.text[:200]}"
            assert token is None or token not in r.text
    assert switch_log(klass) == before, "a refused token changed a switch"

    # The teacher's scripts, and a token the admin teacher made with the teacher scope, pass.
    granted = new_token(teacher, ["custom:llm:teacher", "access:services!service=llm"])["token"]
    klass.watch.add("a test token", granted)
    for token in (klass.teacher_token(), granted):
        for path in SWITCHES:
            r = switch(klass, path, token)
            assert r.status_code == 200, f"{path}: HTTP {r.status_code} {r.text[:200]}"
    teacher.stop_server()


def test_the_teacher_page_session_switches_only_with_its_csrf_token(klass):
    teacher = klass.student(TEACHER)
    page = teacher.http.get(klass.teacher_page, timeout=60)  # the hub's OAuth, then the page
    page.raise_for_status()
    csrf = re.search(r'<meta name="class-csrf" content="([^"]+)"', page.text)
    assert csrf, f"the teacher's page did not open: {page.url} {page.text[:300]}"
    for path in SWITCHES:
        without = teacher.http.post(klass.teacher_page + path, json=SWITCHES[path], timeout=30)
        assert without.status_code in (401, 403), f"{path} without the CSRF token: HTTP {without.status_code}"
        r = teacher.http.post(klass.teacher_page + path, json=SWITCHES[path],
                              headers={"X-Class-CSRF": csrf.group(1)}, timeout=30)
        assert r.status_code == 200, f"{path}: HTTP {r.status_code} {r.text[:200]}"
    # The session's hub token carries the teacher scope, and only because the teacher has it.
    student = klass.student(ADA)
    r = student.http.get(klass.teacher_page, timeout=60)
    assert "class-csrf" not in r.text and "not a teacher" in r.text, r.text[:300]
