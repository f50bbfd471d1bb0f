#!/usr/bin/env python3
"""A deny-webhook receiver for the lab: records every request as one JSON line.

Answers each request with the next status of --codes (the last one repeats), so a test
can make it fail a few times and then accept. Listens dual-stack on [::]:PORT, which in
the lab's world namespace means every lab address.
Usage: webhook-receiver.py --port 8000 --codes 503,200 --out FILE
"""
import argparse, json, socket, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=8000)
ap.add_argument("--codes", default="200")
ap.add_argument("--out", required=True)
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

srv = Server(("::", args.port), Handler)
print("ready", flush=True)
srv.serve_forever()
