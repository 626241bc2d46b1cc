#!/usr/bin/python3
"""tests/llm/fake_openai.py -- a fake OpenAI-compatible server for the
remote backend's tests (tests/host/test_llm_remote.c,
tests/serve/remote_llm.sh). Serves POST /v1/completions,
/v1/chat/completions and /v1/embeddings on a random loopback port over
HTTP and, given a certificate, HTTPS; writes "HTTP_PORT HTTPS_PORT" to
DIR/ports. What it answers is chosen by the request's "model":
  echo      200: the text is the request body as received (JSON)
  auth      200: the text is "auth=" + the Authorization header ("-": none)
  chunked   200: a normal answer sent chunked, in 7-byte chunks
  close     200: a normal answer delimited by closing the connection
  e400 e404 e429 e500 e503   that status with {"error":{"message":...}}
  errstr    500 with {"error": "a plain string"}
  nojson    502 with an HTML body
  garbage   200 with a body that is not JSON
  nochoice  200 with {"choices": []}
  badhttp   bytes that are not HTTP, then close
  slow      sleeps 5 s before answering
  huge      200 declaring a 17 MiB body (Content-Length)
  hugechunk 200 chunked, 1 MiB chunks until 17 MiB or the client leaves
  interim   a 100 Continue head before the answer
  big       200: a completion whose text is 200,000 "x" (a ~200 KB body)
Embeddings (model emb): text i -> [len(text), i, 0.5], listed in reverse
order with their index. Usage: prompt_tokens = words of the prompt,
completion_tokens = 7. Usage: fake_openai.py DIR [CERT KEY]
"""
import json
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def completion(req, text, chat):
    choice = {"index": 0, "finish_reason": "length"}
    if chat:
        choice["message"] = {"role": "assistant", "content": text}
    else:
        choice["text"] = text
    prompt = req.get("prompt") or " ".join(m.get("content", "") for m in req.get("messages", []))
    return {"id": "x", "object": "text_completion", "model": req.get("model"),
            "choices": [choice],
            "usage": {"prompt_tokens": len(str(prompt).split()), "completion_tokens": 7,
                      "total_tokens": len(str(prompt).split()) + 7}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj, chunked=False, close=False):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif not close:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if chunked:
            for i in range(0, len(body), 7):
                part = body[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)
        self.close_connection = True

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        try:
            req = json.loads(raw)
        except ValueError:
            return self.send_json(400, {"error": {"message": "the body is not JSON"}})
        model = req.get("model", "")
        path = self.path
        chat = path.endswith("/chat/completions")
        if model.startswith("e") and model[1:].isdigit():
            code = int(model[1:])
            return self.send_json(code, {"error": {"message": "fake error %d for %s" % (code, model),
                                                   "type": "invalid_request_error"}})
        if path.endswith("/embeddings"):
            data = [{"object": "embedding", "index": i, "embedding": [len(t), i, 0.5]}
                    for i, t in enumerate(req.get("input", []))]
            data.reverse()
            return self.send_json(200, {"object": "list", "data": data, "model": model,
                                        "usage": {"prompt_tokens": 3 * len(data), "total_tokens": 3 * len(data)}})
        if not (path.endswith("/completions")):
            return self.send_json(404, {"error": {"message": "no route " + path}})
        if model == "errstr":
            return self.send_json(500, {"error": "a plain string"})
        if model == "nojson":
            body = b"<html>bad gateway</html>"
            self.send_response(502)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if model == "garbage":
            body = b"this is not json"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if model == "nochoice":
            return self.send_json(200, {"choices": []})
        if model == "badhttp":
            self.wfile.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
            self.close_connection = True
            return
        if model == "slow":
            time.sleep(5)
        if model == "huge":
            self.send_response(200)
            self.send_header("Content-Length", str(17 << 20))
            self.end_headers()
            self.close_connection = True
            return
        if model == "hugechunk":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            part = b"x" * (1 << 20)
            try:
                for _ in range(17):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            except OSError:
                pass
            self.close_connection = True
            return
        if model == "interim":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if model == "big":
            text = "x" * 200000
        elif model == "auth":
            text = "auth=" + self.headers.get("Authorization", "-")
        elif chat:
            text = "chat:" + "|".join("%s:%s" % (m.get("role"), m.get("content")) for m in req["messages"])
        else:
            text = raw.decode()
        try:
            self.send_json(200, completion(req, text, chat), chunked=model == "chunked", close=model == "close")
        except OSError:
            pass


def serve(srv):
    try:
        srv.serve_forever()
    except Exception:
        pass


def main():
    out = sys.argv[1]
    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    http.daemon_threads = True
    ports = [http.server_address[1], 0]
    threads = [threading.Thread(target=serve, args=(http,), daemon=True)]
    if len(sys.argv) > 3:
        https = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        https.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        https.socket = ctx.wrap_socket(https.socket, server_side=True)
        ports[1] = https.server_address[1]
        threads.append(threading.Thread(target=serve, args=(https,), daemon=True))
    for t in threads:
        t.start()
    with open(out + "/ports.tmp", "w") as f:
        f.write("%d %d\n" % tuple(ports))
    import os
    os.rename(out + "/ports.tmp", out + "/ports")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
