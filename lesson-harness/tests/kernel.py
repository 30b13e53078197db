"""A GoNB kernel driven over the Jupyter protocol, for tests that need what a
notebook runner hides: interrupts, and every display update as it arrives."""
import os
import time

from jupyter_client import KernelManager


class Kernel:
    """A kernel (GoNB unless named) started in cwd with env, its stderr in log_path;
    setup, if given, is run first. ready_in is how long it took to be ready, in seconds.
    GoNB takes this repository's module by itself when cwd is inside it (the kernelspec's
    -enclosing_module, kernel-setup/gonb-patches)."""

    def __init__(self, cwd, env, log_path, name="gonb", timeout=60, setup=None):
        self.name, self.kc = name, None
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        self.log = open(log_path, "a")
        self.km = KernelManager(kernel_name=name)
        start = time.time()
        try:
            self.km.start_kernel(cwd=cwd, env=env, stderr=self.log)
            self.kc = self.km.client()
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=timeout)
        except BaseException:
            self.close()
            raise
        self.ready_in = time.time() - start
        if setup:
            self.run(setup)

    def run(self, code, on_message=None, timeout=120):
        """Execute code; return its output messages (dicts with t, type, content) once the
        kernel is idle. sent_at is the wall clock when the request went out."""
        self.sent_at = time.time()
        msg_id = self.kc.execute(code)
        messages, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.05)
            except Exception:
                if on_message:
                    on_message(None, messages)
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                self.idle_at = time.monotonic()
                return messages
            if kind in ("stream", "display_data", "update_display_data", "error"):
                messages.append({"t": time.monotonic(), "type": kind, "content": msg["content"]})
                if on_message:
                    on_message(messages[-1], messages)
        raise TimeoutError(f"the kernel was still busy after {timeout}s")

    def close(self):
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km.has_kernel:
                self.km.shutdown_kernel()  # gracefully: GoNB then stops its gopls and removes its module
        finally:
            self.log.close()


def final_markdown(messages):
    """The Markdown the cell ends up showing: the last content of each display, in order."""
    order, content = [], {}
    for m in messages:
        if m["type"] not in ("display_data", "update_display_data"):
            continue
        key = m["content"].get("transient", {}).get("display_id") or id(m)
        if key not in content:
            order.append(key)
        content[key] = m["content"]["data"].get("text/markdown", "")
    return "".join(content[k] for k in order)


def markdown_bytes(messages):
    return sum(len(m["content"]["data"].get("text/markdown", "").encode())
               for m in messages if m["type"] in ("display_data", "update_display_data"))
