# tests/serve/outbound_servers.py -- the real servers tests/serve/outbound.sh
# talks to, all on loopback ports the kernel picks, written to DIR/ports as
# "HTTP COUNT SILENT TLS": an http.server of DIR/www, a TCP server that
# counts accepts (DIR/count) and closes seen (DIR/closed), a listener that
# never answers, and an HTTPS server (DIR/server.pem, ALPN http/1.1).
import http.server, os, socket, ssl, sys, threading

d = sys.argv[1]
lock = threading.Lock()
counts = {"count": 0, "closed": 0}

def bump(name):
    with lock:
        counts[name] += 1
        with open(os.path.join(d, name + ".tmp"), "w") as f:
            f.write(str(counts[name]))
        os.replace(os.path.join(d, name + ".tmp"), os.path.join(d, name))

def listener():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    return s

def counting(s):
    while True:
        c, _ = s.accept()
        bump("count")
        def drain(c=c):
            try:
                while c.recv(65536):
                    pass
            except OSError:
                pass
            bump("closed")
            c.close()
        threading.Thread(target=drain, daemon=True).start()

def tls_server(s, ctx):
    while True:
        c, _ = s.accept()
        def serve(c=c):
            try:
                t = ctx.wrap_socket(c, server_side=True)
                data = b""
                while b"\r\n\r\n" not in data:
                    b = t.recv(4096)
                    if not b:
                        break
                    data += b
                t.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nsecure")
                t.close()
            except (OSError, ssl.SSLError):
                c.close()
        threading.Thread(target=serve, daemon=True).start()

class Quiet(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=os.path.join(d, "www"), **k)
    def log_message(self, *a):
        pass

web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
web.handle_error = lambda *a: None   # a client that stops reading (max_outbound_mb)
cs, silent, ts = listener(), listener(), listener()
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
ctx.set_alpn_protocols(["http/1.1"])
threading.Thread(target=web.serve_forever, daemon=True).start()
threading.Thread(target=counting, args=(cs,), daemon=True).start()
threading.Thread(target=tls_server, args=(ts, ctx), daemon=True).start()
with open(os.path.join(d, "ports.tmp"), "w") as f:
    f.write("%d %d %d %d\n" % (web.server_address[1], cs.getsockname()[1], silent.getsockname()[1],
                               ts.getsockname()[1]))
os.replace(os.path.join(d, "ports.tmp"), os.path.join(d, "ports"))
threading.Event().wait()
