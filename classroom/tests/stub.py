"""A tiny OpenAI-compatible upstream on a loopback port of its own: lists the models it is given at
/v1/models, streams a short chat completion at /v1/chat/completions (unless chat=False: 404, as a server
that answers only the Agent API), has no Agent API at /v1/responses (404) and, with agent=True, streams
one at /v1/agent only (Perplexity's own path); it records the Authorization headers it saw and the paths
it was asked."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = ["Stars ", "are ", "many."]


class Upstream:
    def __init__(self, models, key=None, agent=False, chat=True):
        self.models, self.key, self.agent, self.chat, self.auth, self.paths = models, key, agent, chat, [], []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

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
                outer.paths.append(f"{self.command} {self.path}")
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
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not self.allowed():
                    return
                asked = json.loads(raw or b"{}")
                if self.path == "/v1/agent" and outer.agent:
                    if not asked.get("input"):
                        self.reply(400, {"error": {"message": "input is required"}})
                    else:
                        self.stream_agent(asked.get("model", ""))
                elif self.path == "/v1/chat/completions" and outer.chat:
                    self.stream(asked.get("model", ""))
                else:
                    self.reply(404, {"error": {"message": "not found"}})

            def stream(self, model):
                self.start_stream()
                for i, text in enumerate(ANSWER):
                    chunk = {"id": "c1", "object": "chat.completion.chunk", "model": model,
                             "choices": [{"index": 0, "delta": {"content": text},
                                          "finish_reason": "stop" if i == len(ANSWER) - 1 else None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                usage = {"id": "c1", "object": "chat.completion.chunk", "model": model, "choices": [],
                         "usage": {"prompt_tokens": 9, "completion_tokens": len(ANSWER), "total_tokens": 9 + len(ANSWER)}}
                self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()
                self.close_connection = True

            def stream_agent(self, model):
                self.start_stream()
                self.event({"type": "response.created", "response": {"model": model, "status": "in_progress"}})
                for text in ANSWER:
                    self.event({"type": "response.output_text.delta", "delta": text})
                self.event({"type": "response.completed", "response": {
                    "model": model, "status": "completed", "usage": {"input_tokens": 9, "output_tokens": len(ANSWER)}}})
                self.close_connection = True

            def start_stream(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()

            def event(self, body):
                self.wfile.write(f"event: {body['type']}\ndata: {json.dumps(body)}\n\n".encode())
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
