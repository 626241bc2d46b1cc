# tests/serve/http_out_servers.py -- the real servers tests/serve/http_out.sh
# calls out to, on loopback ports the kernel picks, written to DIR/ports as
# "HTTP TLS COUNT": one HTTP/1.1 handler (/hello, /json, /echo, /redirect)
# served plainly and over TLS (DIR/server.pem, the test CA's), and a TCP
# server that counts accepts in DIR/count (a denied host must see none).
import http.server, json, os, socket, ssl, sys, threading
from urllib.parse import parse_qs, urlsplit

d = sys.argv[1]
lock = threading.Lock()
accepts = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, extra=()):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlsplit(self.path)
        if u.path == "/hello":
            self.reply(200, b"hello", [("Content-Type", "text/plain"), ("X-Out", "1")])
        elif u.path == "/json":
            self.reply(200, b'{"n": 42}', [("Content-Type", "application/json")])
        elif u.path == "/redirect":
            self.reply(302, b"", [("Location", parse_qs(u.query)["to"][0])])
        else:
            self.do_POST()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        self.reply(200, json.dumps({"method": self.command, "body": body.decode("latin-1"),
                                    "x": self.headers.get("X-In")}).encode(),
                   [("Content-Type", "application/json")])


def counting(s):
    while True:
        c, _ = s.accept()
        with lock:
            accepts[0] += 1
            with open(os.path.join(d, "count.tmp"), "w") as f:
                f.write(str(accepts[0]))
            os.replace(os.path.join(d, "count.tmp"), os.path.join(d, "count"))
        c.close()


web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
tls.handle_error = lambda *a: None     # a client that refused our certificate
cs = socket.socket()
cs.bind(("127.0.0.1", 0))
cs.listen(64)
for target, args in ((web.serve_forever, ()), (tls.serve_forever, ()), (counting, (cs,))):
    threading.Thread(target=target, args=args, daemon=True).start()
with open(os.path.join(d, "ports.tmp"), "w") as f:
    f.write("%d %d %d\n" % (web.server_address[1], tls.server_address[1], cs.getsockname()[1]))
os.replace(os.path.join(d, "ports.tmp"), os.path.join(d, "ports"))
threading.Event().wait()
