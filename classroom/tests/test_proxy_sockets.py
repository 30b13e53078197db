"""The hub's proxy (configurable-http-proxy, as the class installs it) passes on what the class's services
answer on their Unix sockets: a streamed answer as it streams, and a refusal as the service gave it, whether
the request's body is still on its way or already in. The proxy asks to close the connection after each
request it sends to a socket, and writes once more after it: a service that hung up at once, or before the
body was in, had its answer replaced by a 503 of the proxy's. No class, no accounts: the gateway and the
practice server of this checkout on sockets in a folder of the test's own, and the proxy in front."""
import json
import os
import socket
import subprocess
import time
from urllib.parse import quote

import pytest
import requests

from conftest import REPO, free_port

PROXY = "/opt/streamdemo-classroom/proxy/node_modules/.bin/configurable-http-proxy"
KEY = "sk-practice-key-of-the-proxy-test"
PREFIX = "/"  # a standalone gateway's; the class's serves under /services/llm/, which the proxy keeps in the path


def started(argv, env, log, ready):
    """argv started with env alone (its output in log), once ready() holds; stopped by the caller."""
    p = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd="/")
    for _ in range(200):
        if p.poll() is not None:
            break
        if ready():
            return p
        time.sleep(0.05)
    p.kill()
    p.wait()
    log.flush()
    with open(log.name) as f:
        pytest.fail(f"{argv[0]} did not start:\n{f.read()[-2000:]}")


def answers(path):
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """(the proxy's URL of the gateway, a student's token) with the gateway and the practice server on sockets."""
    if not os.access(PROXY, os.X_OK):
        subprocess.run(["python3", "-m", "classroom", "install"], cwd=REPO, check=True, capture_output=True, timeout=1800)
    d = tmp_path_factory.mktemp("proxy-sockets")
    os.chmod(d, 0o700)
    exe = str(d / "streamdemo")
    subprocess.run(["go", "build", "-o", exe, "./cmd/streamdemo"], cwd=REPO, check=True, capture_output=True, timeout=600)
    env = {"PATH": os.environ["PATH"], "HOME": str(d)}
    data = d / "data"
    token = subprocess.run([exe, "gateway", "token", "add", "ana", "--data", str(data)], env=env, check=True,
                           capture_output=True, text=True, timeout=60).stdout.strip().splitlines()[-1]
    key_file = d / "upstream-key"
    key_file.write_text(KEY + "\n")
    key_file.chmod(0o600)
    practice, gateway, api_port, port = str(d / "practice.sock"), str(d / "gateway.sock"), free_port(), free_port()
    procs = []
    with open(d / "services.log", "w") as log:
        try:
            procs.append(started([exe, "serve", "--addr", f"unix:{practice}", "--first-token", "0", "--tps", "50"],
                                 dict(env, STREAMDEMO_PRACTICE_TOKEN=KEY), log, lambda: answers(practice)))
            procs.append(started([exe, "gateway", "serve", "--addr", f"unix:{gateway}", "--upstream", "http://practice.invalid/v1",
                                  "--upstream-socket", practice, "--key-file", str(key_file), "--data", str(data)],
                                 env, log, lambda: answers(gateway)))
            auth = "proxy-token-of-the-proxy-test"
            procs.append(started([PROXY, "--ip", "127.0.0.1", "--port", str(port), "--api-ip", "127.0.0.1",
                                  "--api-port", str(api_port), "--log-level", "warn"],
                                 dict(env, CONFIGPROXY_AUTH_TOKEN=auth), log, lambda: _listens(api_port)))
            requests.post(f"http://127.0.0.1:{api_port}/api/routes/", headers={"Authorization": f"token {auth}"},
                          json={"target": "http+unix://" + quote(gateway, safe="")}, timeout=10).raise_for_status()
            yield f"http://127.0.0.1:{port}{PREFIX}", token
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def _listens(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_a_streamed_answer_passes_the_proxy_as_it_streams(proxied):
    url, token = proxied
    t0, times, text, done = time.monotonic(), [], "", False
    with requests.post(url + "v1/chat/completions", headers={"Authorization": f"Bearer {token}"}, stream=True, timeout=60,
                       json={"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "How many stars are in the universe?"}]}) as r:
        assert r.status_code == 200, r.text[:300]
        for line in r.iter_lines():
            if line.startswith(b"data: {"):
                times.append(time.monotonic() - t0)
                for choice in json.loads(line[6:]).get("choices", []):
                    text += choice.get("delta", {}).get("content") or ""
            done = done or line == b"data: [DONE]"
    assert done and "stars" in text, text[:300]
    assert len(times) > 20 and times[-1] - times[0] > 1, f"the chunks came together: {times[:3]} ... {times[-3:]}"


@pytest.mark.parametrize("body_size,pause", [(40, 0), (40, 0.3), (1 << 20, 0), (1 << 20, 0.3)])
def test_a_refusal_passes_the_proxy_however_the_body_comes(proxied, body_size, pause):
    """A bad token is refused before the body is read: the proxy passes the 401 on, each of many times,
    for a small or a large body, sent at once or after a pause."""
    url, _ = proxied
    host, port = url.split("/")[2].split(":")
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * body_size}]}).encode()
    statuses = []
    for _ in range(10):
        with socket.create_connection((host, int(port)), timeout=30) as s:
            s.sendall(f"POST {PREFIX}v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer not-a-token\r\n"
                      f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
            time.sleep(pause)
            try:
                s.sendall(body)
            except OSError:
                pass  # an answer before the whole body is the server's right; the status below is what counts
            reply = b""
            try:
                while chunk := s.recv(65536):
                    reply += chunk
            except ConnectionResetError:
                reply += b" (reset)"
        statuses.append(reply.split(b" ", 2)[1].decode() if reply.startswith(b"HTTP/1.1 ") else reply[:60].decode(errors="replace"))
    assert statuses == ["401"] * 10, statuses
