"""A tiny OpenAI-compatible upstream on a loopback port of its own: lists the models it is given at
/v1/models, has no Agent API (404 at /v1/responses), and records the Authorization headers it saw."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Upstream:
    def __init__(self, models, key=None):
        self.models, self.key, self.auth = models, key, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def allowed(self):
                outer.auth.append(self.headers.get("Authorization"))
                if outer.key and self.headers.get("Authorization") != f"Bearer {outer.key}":
                    self.reply(401, {"error": {"message": "bad key"}})
                    return False
                return True

            def do_GET(self):
                if not self.allowed():
                    return
                if self.path == "/v1/models":
                    self.reply(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in outer.models]})
                else:
                    self.reply(404, {"error": {"message": "not found"}})

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.allowed():
                    self.reply(404, {"error": {"message": "not found"}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
