"""A student or teacher of the class, over HTTP and websockets only: log in
with a password, start the server, open a GoNB kernel through the Jupyter
server's REST API and run cells over its websocket channels."""
import http.cookiejar
import json
import os
import socket
import sys
import time
import urllib.parse
import uuid

import requests
import websocket

# The lessons' cells are named by tags; one reader of them, the lesson harness's.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lesson-harness", "tests"))
from cells import code_cells  # noqa: E402


# Each student's server has an origin of its own, NAME.HOST (origins.py). As browsers do (RFC 6761), every
# NAME.localhost is this machine, though the system's resolver knows localhost alone; a test's class with
# a DNS name adds its own (resolve).
_getaddrinfo = socket.getaddrinfo
_names = {"localhost": "127.0.0.1"}


def resolve(domain, address):
    """Makes domain and every name under it resolve to address, in this test process."""
    _names[domain] = address


def _class_names(host, *args, **kw):
    for domain, address in _names.items():
        if isinstance(host, str) and (host == domain or host.endswith("." + domain)):
            host = address
    return _getaddrinfo(host, *args, **kw)


socket.getaddrinfo = _class_names


class BrowserCookies(http.cookiejar.DefaultCookiePolicy):
    """Cookies as browsers keep them for a top-level name such as localhost: `Domain=localhost` set by
    localhost itself is localhost's alone (the hub's session cookie), and no subdomain may set it."""

    def set_ok(self, cookie, request):
        domain = cookie.domain.lstrip(".")
        if cookie.domain_specified and "." not in domain:
            if domain != urllib.parse.urlsplit(request.get_full_url()).hostname:
                return False
            cookie.domain, cookie.domain_specified, cookie.domain_initial_dot = domain + ".local", False, False
        return super().set_ok(cookie, request)


def cookie_domain(url):
    """The domain http.cookiejar files a host's own cookies under (a name without a dot gets .local)."""
    host = urllib.parse.urlsplit(url).hostname
    return host if "." in host else host + ".local"


class Student:
    def __init__(self, base, name, password, server=None):
        """base: the hub's origin; server: the origin of the student's own server (base when it has none)."""
        self.base, self.name, self.password = base, name, password
        self.server = (server or base) + f"/user/{name}/"
        self.http = requests.Session()
        self.http.cookies.set_policy(BrowserCookies())

    def login(self):
        """Logs in through the hub's login form; raises if the hub refuses."""
        self.http.get(f"{self.base}/hub/login").raise_for_status()
        r = self.http.post(f"{self.base}/hub/login?next=", allow_redirects=False, data={
            "username": self.name, "password": self.password, "_xsrf": self.hub_xsrf()})
        if r.status_code != 302:
            raise PermissionError(f"the hub refused {self.name}'s login: HTTP {r.status_code}")
        return self

    def hub_xsrf(self):
        """The hub's XSRF token, from the hub's own cookie (a server's host may hold one of its own too)."""
        return self.http.cookies.get("_xsrf", domain=cookie_domain(self.base), path="/hub/")

    def hub_api(self, method, path, **kw):
        headers = {"X-XSRFToken": self.hub_xsrf() or ""}
        kw.setdefault("timeout", 60)
        return self.http.request(method, f"{self.base}/hub/api/{path}", headers=headers, **kw)

    def gateway_token(self, note="sdtest"):
        """A token of the student's own, made with their login, that reaches the gateway only."""
        r = self.hub_api("POST", f"users/{self.name}/tokens", json={"scopes": ["access:services!service=llm"], "note": note})
        r.raise_for_status()
        return r.json()["token"]

    def start_server(self, timeout=120):
        """Starts the student's server and waits until the hub says it is ready; returns seconds taken."""
        t0 = time.monotonic()
        r = self.hub_api("POST", f"users/{self.name}/server")
        if r.status_code not in (201, 202, 400):  # 400: already running
            raise RuntimeError(f"could not start {self.name}'s server: HTTP {r.status_code} {r.text[:300]}")
        while time.monotonic() - t0 < timeout:
            server = self.hub_api("GET", f"users/{self.name}").json().get("servers", {}).get("")
            if server and server.get("ready"):
                # The first request to the server does the OAuth round with the hub and sets its cookie.
                self.http.get(self.server).raise_for_status()
                return time.monotonic() - t0
            time.sleep(0.2)
        raise TimeoutError(f"{self.name}'s server was not ready within {timeout} s")

    def stop_server(self):
        r = self.hub_api("DELETE", f"users/{self.name}/server")
        if r.status_code not in (202, 204):
            raise RuntimeError(f"could not stop {self.name}'s server: HTTP {r.status_code}")
        deadline = time.monotonic() + 60
        while self.hub_api("GET", f"users/{self.name}").json().get("servers", {}).get(""):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}'s server did not stop within 60 s")
            time.sleep(0.2)

    def api(self, method, path, **kw):
        """Calls the student's Jupyter server REST API (cookie and XSRF as the browser would)."""
        headers = {"X-XSRFToken": self.http.cookies.get("_xsrf", domain=cookie_domain(self.server),
                                                        path=f"/user/{self.name}/") or ""}
        r = self.http.request(method, f"{self.server}api/{path}", headers=headers, **kw)
        r.raise_for_status()
        return r.json() if r.content else None

    def open_kernel(self, notebook_path):
        session = self.api("POST", "sessions", json={
            "path": notebook_path, "type": "notebook", "name": "", "kernel": {"name": "gonb"}})
        return Kernel(self, session["kernel"]["id"])


class Kernel:
    """A kernel's websocket channels, as JupyterLab uses them."""

    def __init__(self, student, kernel_id):
        self.student, self.id, self.session = student, kernel_id, uuid.uuid4().hex
        cookies = "; ".join(f"{c.name}={c.value}" for c in student.http.cookies)
        url = student.server.replace("http", "ws", 1) + f"api/kernels/{kernel_id}/channels?session_id={self.session}"
        self.ws = websocket.create_connection(url, header=[f"Cookie: {cookies}"], timeout=5)

    def run(self, code, timeout=120):
        """Executes code; returns [(seconds since sent, msg_type, content)] of its output, once idle."""
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": self.student.name,
                       "session": self.session, "date": "", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        t0, out = time.monotonic(), []
        while time.monotonic() - t0 < timeout:
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                return out
            if kind in ("stream", "display_data", "update_display_data", "error"):
                out.append((time.monotonic() - t0, kind, msg["content"]))
        raise TimeoutError(f"the cell was still running after {timeout} s")

    def close(self):
        self.ws.close()
        self.student.api("DELETE", f"kernels/{self.id}")


def text(outputs):
    """The text a cell printed (stream outputs and errors)."""
    parts = []
    for _, kind, content in outputs:
        if kind == "stream":
            parts.append(content["text"])
        elif kind == "error":
            parts.append(" ".join(content.get("traceback", [])) or content.get("evalue", ""))
    return "".join(parts)


def lesson_cells(path):
    """{name: source} of the lesson's code cells, by the tag that names each (lesson-harness/tests/cells.py)."""
    return {name: source for name, (_, source) in code_cells(path).items()}
