"""Every fault of docs/faults.md met in a notebook cell: the same one sentence
as the CLI, the partial text kept, no panic or traceback, and no key shown."""
import os
import re
import socket
import ssl
import subprocess
import threading

import pytest

from conftest import BUILD, REPO, TEST_KEY
from kernel import Kernel

CELL = '''%%
client, err := streamdemo.NewClient(streamdemo.Config{Provider: "PROVIDER", BaseURL: "BASE", IdleTimeout: time.Second})
if err != nil {
	fmt.Println(streamdemo.Hint(err))
	return
}
stream := client.Stream(context.Background(), streamdemo.Request{Model: "MODEL", MaxTokens: MAXTOKENS,
	Messages: []streamdemo.Message{{Role: "user", Content: "How many stars are in the universe?"}}})
for chunk := range stream.Chunks() {
	fmt.Print(chunk.Text)
}
if err := stream.Err(); err != nil {
	fmt.Println("\\n" + streamdemo.Hint(err))
}'''


def fault_rows():
    """(situation, sentence) from the generated table in docs/faults.md."""
    rows = []
    with open(os.path.join(REPO, "docs", "faults.md"), encoding="utf-8") as f:
        for line in f:
            cols = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if len(cols) == 6 and cols[-1] == "1":
                rows.append((cols[0], cols[2]))
    return rows


def loopback_server(handle):
    """A loopback listener that passes each connection to handle until it is closed."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()

    def serve():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return  # closed
            try:
                handle(conn)
            except OSError:
                pass
            finally:
                conn.close()
    threading.Thread(target=serve, daemon=True).start()
    return sock


def hang_up_server():
    """A server that accepts connections and closes them before any header."""
    return loopback_server(lambda conn: conn.recv(4096))


def self_signed_server(tmp):
    """A TLS server whose certificate no client trusts."""
    key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    # The client rejects the certificate during the handshake (ssl.SSLError is an OSError).
    return loopback_server(lambda conn: ctx.wrap_socket(conn, server_side=True).close())


@pytest.fixture(scope="module")
def fault_runs(practice_server, tmp_path_factory):
    base, _ = practice_server
    root = base.rsplit("/v1", 1)[0]
    hang_up, tls = hang_up_server(), self_signed_server(str(tmp_path_factory.mktemp("tls")))
    port = lambda s: s.getsockname()[1]
    setups = {name: ("perplexity", base, "fault/" + f, 0) for name, f in [
        ("key rejected", "401"), ("key not allowed", "403"), ("unknown model", "404"), ("rate limited", "429"),
        ("server error", "500"), ("connection cut mid-answer", "drop"), ("malformed event mid-answer", "malformed"),
        ("stream stalls mid-answer", "stall"), ("answer fails mid-answer (`response.failed`)", "failed"),
        ("answer cancelled mid-answer (`response.cancelled`)", "cancelled"), ("error event mid-answer (bare `error`)", "error")]}
    setups.update({
        "answer cut short (`response.incomplete`)": ("perplexity", base, "sonar-pro", 20),
        "retired Sonar endpoint": ("openai", root, "sonar-pro", 0),
        "nothing listening on the port": ("compatible", "http://127.0.0.1:1/v1", "m", 0),
        "unknown host": ("compatible", "http://no-such-host.invalid/v1", "m", 0),
        "TLS certificate rejected": ("compatible", f"https://127.0.0.1:{port(tls)}/v1", "m", 0),
        "server closes before headers": ("compatible", f"http://127.0.0.1:{port(hang_up)}/v1", "m", 0),
    })
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMDEMO_")}
    env["PERPLEXITY_API_KEY"] = TEST_KEY  # every fault runs with the recognisable key
    kernel = Kernel(cwd=os.path.join(REPO, "build"), env=env, log_path=os.path.join(BUILD, "faults-kernel.log"))
    kernel.run('import "github.com/streamdemo/streamdemo/pkg/streamdemo"')
    runs = {}
    for situation, sentence in fault_rows():
        provider, url, model, max_tokens = setups[situation]
        cell = CELL.replace("PROVIDER", provider).replace("BASE", url).replace("MODEL", model)
        messages = kernel.run(cell.replace("MAXTOKENS", str(max_tokens)))
        runs[situation] = (sentence, url, messages)
    kernel.close()
    hang_up.close()
    tls.close()
    return runs


def test_every_fault_in_the_table_is_met(fault_runs):
    assert len(fault_runs) == 17


def test_each_fault_shows_the_clis_sentence(fault_runs):
    for situation, (sentence, url, messages) in fault_runs.items():
        stdout = "".join(m["content"]["text"] for m in messages if m["type"] == "stream" and m["content"]["name"] == "stdout")
        shown = stdout.rstrip("\n").rsplit("\n", 1)[-1]
        expected = re.sub(r"https?://127\.0\.0\.1:PORT(/v1)?", lambda m: url if m.group(1) else url.rsplit("/v1", 1)[0], sentence)
        assert shown == expected, f"{situation}:\n  cell: {shown}\n  CLI:  {expected}"
        midstream = "mid-answer" in situation or "incomplete" in situation
        assert stdout.startswith("Astronomers estimate") == midstream, f"{situation}: partial text {stdout[:60]!r}"


def test_no_fault_shows_a_panic_a_traceback_or_the_key(fault_runs):
    for situation, (_, _, messages) in fault_runs.items():
        text = "".join(str(m["content"]) for m in messages)
        assert not [m for m in messages if m["type"] == "error"], situation
        assert "panic" not in text and "goroutine " not in text, situation
        runs = [TEST_KEY[i:i + 8] for i in range(len(TEST_KEY) - 7)]
        assert not [r for r in runs if r in text], f"{situation}: the key shows"
