#!/usr/bin/env python3
"""The lab world's "internet": one process answering on every local address.

TCP ports: reply to anything with an HTTP/1.0 200 whose body is "ok <local-ip> <port>\n",
so a client learns which host it really reached. UDP ports: echo the datagram back
prefixed with "ok <local-ip> ". Listens dual-stack on [::]; the lab routes whole
documentation ranges to lo, so every address in them answers.
Usage: world-server.py --tcp 80,443,853 --udp 9,443,853
"""
import argparse, selectors, socket, sys

ap = argparse.ArgumentParser()
ap.add_argument("--tcp", default="80,443,853,8080")
ap.add_argument("--udp", default="9,443,853")
args = ap.parse_args()

def ports(s):
    return [int(p) for p in s.split(",") if p]

def unmap(ip):
    return ip[7:] if ip.startswith("::ffff:") else ip

sel = selectors.DefaultSelector()
for p in ports(args.tcp):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", p)); s.listen(512); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, ("tcp-listen", p))
for p in ports(args.udp):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    # IPV6_RECVPKTINFO so the echo names the address the datagram was sent to
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    # IPv6 refuses to send from an address that is local only through the AnyIP route
    # (EADDRNOTAVAIL) unless the socket may use non-local addresses: IP_FREEBIND (15)
    s.setsockopt(socket.SOL_IP, 15, 1)
    s.bind(("::", p)); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, ("udp", p))

print("ready", flush=True)
while True:
    for key, _ in sel.select():
        kind, port = key.data
        sock = key.fileobj
        try:
            if kind == "tcp-listen":
                conn, _ = sock.accept()
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, ("tcp-conn", port))
            elif kind == "tcp-conn":
                data = sock.recv(65536)
                if data:
                    local = unmap(sock.getsockname()[0])
                    body = f"ok {local} {port}\n".encode()
                    sock.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
                sel.unregister(sock); sock.close()
            else:
                data, anc, _, peer = sock.recvmsg(65536, 1024)
                local, pktinfo = "?", []
                for level, typ, val in anc:
                    if level == socket.IPPROTO_IPV6 and typ == socket.IPV6_PKTINFO:
                        local = unmap(socket.inet_ntop(socket.AF_INET6, val[:16]))
                        # answer from the address the client wrote to (ifindex 0: any),
                        # or a connected client would discard the reply
                        pktinfo = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, val[:16] + bytes(4))]
                sock.sendmsg([b"ok " + local.encode() + b" " + data], pktinfo, 0, peer)
        except OSError:
            if kind == "udp":
                continue  # one failed echo must not close the port for every later test
            try:
                sel.unregister(sock); sock.close()
            except Exception:
                pass
