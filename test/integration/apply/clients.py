#!/usr/bin/env python3
"""Small clients and servers for the apply tests (run inside lab namespaces).

udp HOST PORT            send one datagram on a connected socket; print the reply,
                         "timeout", or "error <errno-name>" (ICMP errors surface here)
echo-server PORT         persistent TCP echo server on [::]:PORT (dual-stack)
flow HOST PORT GOFILE    connect, send "one", print the reply; wait until GOFILE exists,
                         send "two" on the SAME connection, print the reply
dns-echo PORT            UDP server on 127.0.0.1:PORT and [::1]:PORT that answers "proxy"
"""
import errno, os, select, socket, sys, time

def fam(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET

cmd = sys.argv[1]
if cmd == "udp":
    host, port = sys.argv[2], int(sys.argv[3])
    s = socket.socket(fam(host), socket.SOCK_DGRAM)
    s.settimeout(1.5)
    s.connect((host, port))
    try:
        s.send(b"x")
        print(s.recv(200).decode().strip())
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print("error", errno.errorcode.get(e.errno, e.errno))
elif cmd == "echo-server":
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(("::", int(sys.argv[2]))); srv.listen(16)
    print("ready", flush=True)
    conns = []
    while True:
        r, _, _ = select.select([srv] + conns, [], [])
        for c in r:
            if c is srv:
                conns.append(srv.accept()[0])
            else:
                d = c.recv(4096)
                if d: c.sendall(b"echo " + d)
                else: conns.remove(c); c.close()
elif cmd == "flow":
    host, port, go = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    s = socket.create_connection((host, port), timeout=3)
    s.sendall(b"one"); print(s.recv(100).decode(), flush=True)
    while not os.path.exists(go): time.sleep(0.02)
    s.sendall(b"two"); print(s.recv(100).decode(), flush=True)
elif cmd == "dns-echo":
    socks = []
    for f, a in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        u = socket.socket(f, socket.SOCK_DGRAM); u.bind((a, int(sys.argv[2]))); socks.append(u)
    print("ready", flush=True)
    while True:
        r, _, _ = select.select(socks, [], [])
        for u in r:
            d, peer = u.recvfrom(512); u.sendto(b"proxy", peer)
