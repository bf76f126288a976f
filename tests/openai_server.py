"""A small real HTTP server speaking the OpenAI protocol that misbehaves on purpose (tests only).

It is not a stand-in for our code: the backend under test talks to it over a real socket through
the real ``openai`` client. Each request is answered by the first scripted action whose key occurs
in the request's last message (or prompt), consumed in order; with no action left the reply is
``ok``: ``echo seed=<seed> <first 40 characters of the message>``. Actions:
``ok``, ``("429", retry_after)``, ``"500"``, ``"malformed"`` (a 200 that is not JSON), ``"empty"``
(no choices), ``"cutoff"`` (a body shorter than its Content-Length, then the connection closes),
``("stall", s)`` / ``("delay", s)`` (answer after s seconds), ``("reasoning", field)`` (a separate
reasoning field), ``("say", text[, delay])`` (reply ``text``), ``"length"`` (finish_reason length),
``"401"`` (echoes the Authorization header, as some servers echo a wrong key). ``server.requests``
records every request, ``max_inflight`` the most answered at once.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedServer:
    def __init__(self, key: str | None = None) -> None:
        self.key = key                           # expected bearer key (None: any)
        self.actions: dict[str, list] = {}
        self.requests: list[dict] = []           # {"t", "path", "body", "auth"}
        self.default = "ok"
        self.inflight = self.max_inflight = 0
        self.lock = threading.Lock()
        handler = type("H", (_Handler,), {"server_state": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "ScriptedServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def script(self, key: str, *actions) -> None:
        self.actions.setdefault(key, []).extend(actions)

    def next_action(self, text: str):
        with self.lock:
            for key, acts in self.actions.items():
                if key in text and acts:
                    return acts.pop(0)
            return self.default

    def completions(self, path: str = "/chat/completions") -> list[dict]:
        return [r for r in self.requests if r["path"].endswith(path)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16              # headers and body in one send (unbuffered, Nagle + delayed ACK cost 40 ms)
    server_state: ScriptedServer

    def log_message(self, *args) -> None:       # quiet
        pass

    def _send(self, code: int, body: bytes, ctype: str = "application/json", headers: dict | None = None,
              length: int | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _json(self, code: int, obj, headers: dict | None = None) -> None:
        self._send(code, json.dumps(obj).encode(), headers=headers)

    def do_GET(self) -> None:
        st = self.server_state
        with st.lock:
            st.requests.append({"t": time.monotonic(), "path": self.path, "body": None,
                                "auth": self.headers.get("Authorization")})
        if st.key is not None and self.headers.get("Authorization") != f"Bearer {st.key}":
            return self._json(401, {"error": {"message": f"Incorrect API key provided: "
                                                         f"{self.headers.get('Authorization')}"}})
        self._json(200, {"object": "list", "data": [{"id": "scripted", "object": "model", "owned_by": "test"}]})

    def do_POST(self) -> None:
        st = self.server_state
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        auth = self.headers.get("Authorization")
        chat = self.path.endswith("/chat/completions")
        text = body["messages"][-1]["content"] if chat else body.get("prompt", "")
        with st.lock:
            st.requests.append({"t": time.monotonic(), "path": self.path, "body": body, "auth": auth})
        if st.key is not None and auth != f"Bearer {st.key}":
            return self._json(401, {"error": {"message": f"Incorrect API key provided: {auth}"}})
        act = st.next_action(text)
        name, arg = (act, None) if isinstance(act, str) else act[:2]
        if name == "say" and len(act) > 2:
            time.sleep(act[2])
        with st.lock:
            st.inflight += 1
            st.max_inflight = max(st.max_inflight, st.inflight)
        try:
            self._answer(st, body, chat, text, name, arg, auth)
        finally:
            with st.lock:
                st.inflight -= 1

    def _answer(self, st, body, chat, text, name, arg, auth) -> None:
        try:
            if name == "429":
                return self._json(429, {"error": {"message": "rate limited"}}, {"Retry-After": str(arg)})
            if name == "500":
                return self._json(500, {"error": {"message": "internal error"}})
            if name == "401":
                return self._json(401, {"error": {"message": f"Incorrect API key provided: {auth}"}})
            if name == "malformed":
                return self._send(200, b'{"id": "x", "choices": [{"message": ')
            if name == "empty":
                return self._json(200, {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                                        "choices": []})
            if name == "cutoff":
                self.close_connection = True
                return self._send(200, b'{"id": "x", "choices": [{"index": 0, "mess', length=400)
            if name in ("stall", "delay"):
                time.sleep(arg)
            reply = arg if name == "say" else f"echo seed={body.get('seed')} {text[:40]}"
            reason = "length" if name == "length" else "stop"
            if chat:
                msg = {"role": "assistant", "content": reply}
                if name == "reasoning":
                    msg[arg] = "let me think: 2+3=5"
                choice = {"index": 0, "message": msg, "finish_reason": reason}
            else:
                choice = {"index": 0, "text": reply, "finish_reason": reason}
            self._json(200, {"id": "x", "object": "chat.completion" if chat else "text_completion", "created": 0,
                             "model": body.get("model", "m"), "choices": [choice],
                             "usage": {"prompt_tokens": 10, "completion_tokens": len(reply.split()),
                                       "total_tokens": 10 + len(reply.split())}})
        except (BrokenPipeError, ConnectionResetError):     # the client gave up (a stall past its timeout)
            pass
