"""The practice server the benchmark starts itself, and the local model (Ollama) it
uses when kernel-setup/model-server.sh can provide it."""
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lesson-harness", "tests"))
import practice_server  # noqa: E402

OLLAMA_URL = "http://127.0.0.1:11434/v1"
LOCAL_MODEL = "smollm2-135m"


def get_json(url, timeout=5, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data, {"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)


def seconds(duration):
    """A Go duration such as "300ms" or "1.5s" in seconds (the forms the benchmark uses)."""
    for unit, scale in (("ms", 1e-3), ("us", 1e-6), ("s", 1.0)):
        if duration.endswith(unit):
            return float(duration[:-len(unit)]) * scale
    raise ValueError(f"unsupported duration {duration!r}: use e.g. 300ms or 1s")


class PracticeServer(practice_server.PracticeServer):
    """`streamdemo serve` at a pace, on a free loopback port, stopped on exit (even on
    failure), that says when the chunks of its last answer went out."""

    def __init__(self, binary, log_path, first_token="300ms", tps=40):
        self.first_token, self.tps = first_token, tps
        self.first_token_s = seconds(first_token)
        self._last_first = None
        super().__init__(binary, log_path, "--first-token", first_token, "--tps", str(tps))

    def last_stamps(self, timeout=5):
        """The stamps of the answer that just finished: waits until the server has
        recorded an answer other than the previous one and none is being sent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = get_json(self.base_url + "/practice/last")
            sent = last.get("sent") or []
            busy = get_json(self.base_url + "/practice/status")["active_streams"]
            if sent and sent[0]["unix_ns"] != self._last_first and not busy:
                self._last_first = sent[0]["unix_ns"]
                return sent
            time.sleep(0.02)
        raise TimeoutError("the practice server recorded no new answer")


class LocalModel:
    """Ollama on 127.0.0.1:11434 serving smollm2-135m, through kernel-setup/model-server.sh.
    .ready says whether it can be used, .reason why not; stop() stops it only if we started it."""

    def __init__(self, repo, timeout=240):
        self.script = os.path.join(repo, "kernel-setup", "model-server.sh")
        self.started = False
        self.ready, self.reason = False, ""
        if self._serves_model():
            self.ready = True
            return
        if not os.path.exists(self.script):
            self.reason = "kernel-setup/model-server.sh does not exist (yet)"
            return
        status = self._script("status", 30)
        if status.returncode != 0:
            nothing_runs = status.returncode == 1
            start = self._script("start", timeout)
            if start.returncode != 0 and not self._serves_model():
                lines = (start.stdout + start.stderr).strip().splitlines()
                self.reason = "`bash kernel-setup/model-server.sh start` failed: " + (lines[-1] if lines else f"exit {start.returncode}")
                if nothing_runs:
                    self._script("stop", 30)
                return
            self.started = nothing_runs
        if not self._serves_model():
            self.reason = f"nothing serves {LOCAL_MODEL} on 127.0.0.1:11434 after model-server.sh start"
            return
        self.ready = True

    def _script(self, command, timeout):
        try:
            return subprocess.run(["bash", self.script, command], capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess([command], 124, "", f"timed out after {timeout}s")

    @staticmethod
    def _serves_model():
        try:
            ids = [m["id"] for m in get_json(OLLAMA_URL + "/models", timeout=3)["data"]]
        except (OSError, ValueError, KeyError):
            return False
        return any(i.split(":")[0] == LOCAL_MODEL for i in ids)

    def warm_up(self, messages):
        """One answer, so that loading the model is not part of anyone's first run."""
        get_json(OLLAMA_URL + "/chat/completions", timeout=120,
                 body={"model": LOCAL_MODEL, "messages": messages, "temperature": 0})

    def stop(self):
        if self.started:
            self._script("stop", 60)
            self.started = False
