"""`make model-start` (kernel-setup/model.sh --start) checks the local model and leaves its
server running: the server is started once, not started, stopped and started again."""
import os
import subprocess

from conftest import REPO, free_port

VERIFIED = os.path.join(REPO, ".tools", "ollama", "models", ".smollm2-135m.verified")


def test_model_start_starts_the_server_once():
    port = str(free_port())
    env = dict(os.environ, OLLAMA_PORT=port)
    log = os.path.join(REPO, "build", f"ollama-{port}.log")
    if os.path.exists(VERIFIED):
        os.remove(VERIFIED)  # make model.sh check the model again, as on a first run
    try:
        done = subprocess.run(["bash", "kernel-setup/model.sh", "--start"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        status = subprocess.run(["bash", "kernel-setup/model-server.sh", "status"], cwd=REPO, env=env,
                                capture_output=True, text=True)
        assert status.returncode == 0 and "(pid " in status.stdout, status.stdout
        with open(log, encoding="utf-8", errors="replace") as f:
            starts = f.read().count("Listening on")
        assert starts == 1, f"ollama serve started {starts} times on port {port}"
        assert "checking that smollm2-135m answers: done" in done.stdout
    finally:
        subprocess.run(["bash", "kernel-setup/model-server.sh", "stop"], cwd=REPO, env=env, capture_output=True)
