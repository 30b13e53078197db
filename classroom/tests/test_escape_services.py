"""The class's services answer the accounts that need them and no student: the practice server and the
gateway listen on sockets in the gateway's own folder (the proxy reaches the gateway there), the class's
local model lives in a network namespace of its own behind a socket only the gateway's account opens, and a
teacher's own upstream on this machine without a key is closed to every account but root and the gateway's
by a firewall rule that goes with the class."""
import os
import pwd
import subprocess

import requests

from attack import as_account, over_socket
from conftest import MODEL_RUN, STUDENTS, class_model_started, class_model_stopped
from stub import Upstream

ADA = STUDENTS[0]


def tcp_listeners():
    """{socket inode: (uid, port)} of every listening TCP socket of this machine's own network namespace."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for row in f.read().splitlines()[1:]:
                fields = row.split()
                if fields[3] == "0A":
                    found[fields[9]] = (int(fields[7]), int(fields[1].rsplit(":", 1)[1], 16))
    return found


def sockets_of(pid):
    """The inodes of the sockets process pid holds."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def student_connects(port):
    """What the student gets from GET / on a loopback port: "refused" when she cannot connect at all."""
    out = as_account(ADA, f"curl -s -m 5 -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{port}/ || echo refused",
                     check=False)
    return "refused" if "refused" in out or out.strip() == "000" else out.strip()


def test_a_student_reaches_the_class_services_only_through_the_hub(klass):
    gateway = pwd.getpwnam("streamdemo-llm").pw_uid
    listening = {port for uid, port in tcp_listeners().values() if uid == gateway}
    assert not listening, f"the gateway's account listens on TCP ports {sorted(listening)}, which any account may reach"
    for sock in (f"{klass.gateway_dir}/practice.sock", f"{klass.gateway_dir}/gateway.sock", f"{os.path.dirname(klass.gateway_dir)}/proxy/api.sock"):
        assert os.path.exists(sock), f"no {sock}: the class does not listen there"
        said = as_account(ADA, f"curl -s -m 5 --unix-socket {sock} http://localhost/v1/models -w '%{{http_code}}' || echo refused",
                          check=False)
        assert "refused" in said and "200" not in said and "401" not in said, f"{ADA} reached {sock}: {said}"
    # The gateway still answers, through the hub's proxy only.
    assert requests.get(f"{klass.base}/services/llm/v1/models", timeout=10).status_code == 401


def test_a_student_cannot_call_the_class_model(klass):
    before = set(subprocess.run(["pgrep", "-f", "ollama"], capture_output=True, text=True).stdout.split())
    class_model_started()
    try:
        ollama = set(subprocess.run(["pgrep", "-f", "ollama"], capture_output=True, text=True).stdout.split()) - before
        assert ollama, "make classroom-model started no Ollama"
        listeners = tcp_listeners()
        reachable = sorted({listeners[i][1] for pid in ollama for i in sockets_of(pid) if i in listeners})
        got = {port: student_connects(port) for port in reachable}
        assert not reachable, f"the class's model (server and runner) listens where {ADA} reaches it: {got}"
        said = as_account(ADA, f"curl -s -m 5 --unix-socket {MODEL_RUN}/ollama.sock http://localhost/api/tags || echo refused",
                          check=False)
        assert "refused" in said and "smollm2" not in said, said
        deleted = as_account(ADA, f"curl -s -m 5 --unix-socket {MODEL_RUN}/ollama.sock -X DELETE http://localhost/api/delete"
                                  " -d '{\"model\":\"smollm2-135m\"}' -w '%{http_code}' || echo refused", check=False)
        assert "refused" in deleted and "200" not in deleted, deleted
        # The gateway's account asks it, through the socket.
        asked = as_account("streamdemo-llm", f"curl -fsS -m 10 --unix-socket {MODEL_RUN}/ollama.sock http://localhost/v1/models")
        assert "smollm2-135m" in asked, asked
        status, _ = over_socket(f"{MODEL_RUN}/ollama.sock", "GET", "/api/tags")
        assert status == 200
    finally:
        class_model_stopped()
    assert not os.path.exists(f"{MODEL_RUN}/ollama.sock")


def test_a_teachers_upstream_on_this_machine_without_a_key_answers_the_gateway_alone(klass):
    up = Upstream(["local-7b"])
    port = int(up.url.rsplit(":", 1)[1].split("/")[0])
    try:
        assert student_connects(port) == "404"  # before the class, it answers anyone
        klass.make("classroom-down")
        klass.make("classroom", UPSTREAM_URL=up.url)
        assert student_connects(port) == "refused"
        # The class asks it through the gateway, with a student's token.
        token = klass.student(ADA).gateway_token()
        r = requests.post(f"{klass.base}/services/llm/v1/chat/completions", headers={"Authorization": f"Bearer {token}"},
                          json={"model": "local-7b", "stream": True, "messages": [{"role": "user", "content": "stars?"}]},
                          timeout=60)
        assert r.status_code == 200 and "many." in r.text, r.text[:500]
        assert "POST /v1/chat/completions" in up.paths
        klass.make("classroom-down")
        tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
        assert f"streamdemo_class_{klass.port}" not in tables, tables
        assert student_connects(port) == "404"  # the rule went with the class
    finally:
        up.close()
        klass.make("classroom-down")
        klass.make("classroom")  # the practice upstream again, for the tests after this one
