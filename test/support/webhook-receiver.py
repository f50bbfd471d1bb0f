#!/usr/bin/env python3
"""A deny-webhook receiver for the lab: records every request as one JSON line.

Answers each request with the next status of --codes (the last one repeats), so a test
can make it fail a few times and then accept. Listens dual-stack on [::]:PORT, which in
the lab's world namespace means every lab address.
With --stream it misbehaves instead: it answers a status line, then sends data without
end and never closes, and records when the client cut the connection off.
With --tls CERT KEY it speaks HTTPS.
Usage: webhook-receiver.py --port 8000 --codes 503,200 --out FILE [--stream] [--tls CERT KEY]
"""
import argparse, json, socket, ssl, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=8000)
ap.add_argument("--codes", default="200")
ap.add_argument("--out", required=True)
ap.add_argument("--stream", action="store_true")
ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
args = ap.parse_args()
codes = [int(c) for c in args.codes.split(",")]
served = 0

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global served
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        code = codes[min(served, len(codes) - 1)]
        served += 1
        with open(args.out, "a") as f:
            f.write(json.dumps({"at": time.time(), "path": self.path, "host": self.headers.get("Host"),
                                "contentType": self.headers.get("Content-Type"), "peer": self.client_address[0].removeprefix("::ffff:"),
                                "status": code, "body": body.decode("utf-8", "replace")}) + "\n")
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass

class Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

class Streamer(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        started, sent = time.time(), 0
        try:
            while time.time() - started < 30:
                self.wfile.write(b"x" * 65536)
                sent += 65536
        except OSError as e:
            with open(args.out, "a") as f:
                f.write(json.dumps({"at": time.time(), "cutAfter": time.time() - started, "sent": sent, "error": type(e).__name__}) + "\n")

    def log_message(self, *a):
        pass

srv = Server(("::", args.port), Streamer if args.stream else Handler)
if args.tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.tls[0], args.tls[1])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
