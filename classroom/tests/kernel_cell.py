"""Runs one cell in a student's server as her browser would, and prints what comes back as it comes.

    python kernel_cell.py BASE_URL USER TOKEN_FILE < code     (or python -c "$(cat kernel_cell.py)" ...)

starts a Python kernel in BASE_URL/user/USER/ (through the hub's proxy), sends the code on the kernel's
websocket, and prints one JSON line per output with the time it arrived: {"t": ..., "text": ...}, then
{"t": ..., "end": "idle"} when the cell finished, or "dead"/"restarting" when the kernel was killed.
The token is read from a file (never a command line). Runs with the hub venv's Python
(websocket-client and requests come with JupyterHub's and JupyterLab's locks).
"""
import json
import sys
import time
import uuid

import requests
import websocket


def emit(**fields):
    print(json.dumps(dict(t=time.time(), **fields)), flush=True)


def main(base, user, token_file, code, timeout=120):
    with open(token_file) as f:
        headers = {"Authorization": f"token {f.read().strip()}"}
    api = f"{base}/user/{user}/api"
    r = requests.post(f"{api}/kernels", json={"name": "python3"}, headers=headers, timeout=30)
    r.raise_for_status()
    kernel = r.json()["id"]
    ws = websocket.create_connection(f"{api.replace('http', 'ws', 1)}/kernels/{kernel}/channels",
                                     header=[f"{k}: {v}" for k, v in headers.items()], timeout=timeout)
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": "execute_request", "username": user,
                                   "session": uuid.uuid4().hex, "version": "5.3"},
                        "parent_header": {}, "metadata": {}, "channel": "shell",
                        "content": {"code": code, "silent": False, "store_history": False,
                                    "user_expressions": {}, "allow_stdin": False}}))
    try:
        follow(ws, msg_id, time.monotonic() + timeout)
    finally:
        requests.delete(f"{api}/kernels/{kernel}", headers=headers, timeout=30)


def follow(ws, msg_id, deadline):
    """Prints the cell's outputs until it ends, its kernel dies, or the deadline."""
    while time.monotonic() < deadline:
        try:
            msg = json.loads(ws.recv())
        except websocket.WebSocketException:
            emit(end="closed")
            return
        kind, content = msg["msg_type"], msg.get("content", {})
        if kind == "stream":
            emit(text=content["text"])
        elif kind == "error":
            emit(text=f"{content['ename']}: {content['evalue']}")
        elif kind == "status" and content.get("execution_state") in ("dead", "restarting"):
            emit(end=content["execution_state"])
            return
        elif kind == "status" and content.get("execution_state") == "idle" and \
                msg.get("parent_header", {}).get("msg_id") == msg_id:
            emit(end="idle")
            return
    emit(end="timeout")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.stdin.read())
