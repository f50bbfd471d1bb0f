#!/usr/bin/env python3
"""The hostile application's side of the adversarial suite: run in the lab's sandbox
namespace under one of the attacker identities (test/support/attacker.ts). Prints one
JSON line. Every DNS packet it sends goes to port 53 of the namespace's resolver, as an
application's would, so the redirect takes it to serve's proxy.

  connect ADDR PORT          TCP connect: {"result": "ok"|"refused"|"timeout"|..., "ms": N, "body": ...}
  resolve NAME               getaddrinfo, both families: {"addresses": [...]} or {"error": ...}
  pipeline SERVER N NAME...  N queries (cycling through NAMEs) pipelined in ONE TCP write to
                             SERVER:53, then a half-close (FIN); reads until the server
                             closes: {"sent": N, "answers": [{"id", "rcode"}...], "closed": how}
"""
import json, selectors, socket, struct, sys, time


def out(o):
    print(json.dumps(o), flush=True)


def connect(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(4)
    t0 = time.monotonic()
    try:
        s.connect((addr, int(port)))
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        body = s.recv(200).split(b"\r\n\r\n")[-1].decode().strip()
        out({"result": "ok", "ms": round((time.monotonic() - t0) * 1000), "body": body})
    except ConnectionRefusedError:
        out({"result": "refused", "ms": round((time.monotonic() - t0) * 1000)})
    except socket.timeout:
        out({"result": "timeout", "ms": round((time.monotonic() - t0) * 1000)})
    except OSError as e:
        out({"result": type(e).__name__, "errno": e.errno, "ms": round((time.monotonic() - t0) * 1000)})
    finally:
        s.close()


def resolve(name):
    try:
        ai = socket.getaddrinfo(name, 80, 0, socket.SOCK_STREAM)
        out({"addresses": sorted({a[4][0] for a in ai})})
    except socket.gaierror as e:
        out({"error": e.args[1] if len(e.args) > 1 else str(e), "code": e.errno})


def query(qid, name, qtype=1):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", qtype, 1)


def pipeline(server, n, names):
    """Writes the whole burst while reading what comes back (a well-behaved pipelining
    client: one that only reads after writing everything can deadlock against any
    server that stops reading while its answers go unread), then FIN, then reads to EOF."""
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect((server, 53))
    burst = b""
    for i in range(n):
        m = query(i + 1, names[i % len(names)])
        burst += struct.pack(">H", len(m)) + m
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    buf = b""
    sent = 0
    closed = "fin"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        events = sel.select(timeout=20)
        if not events:
            closed = "timeout"
            break
        done = False
        for _key, mask in events:
            if mask & selectors.EVENT_WRITE and sent < len(burst):
                try:
                    sent += s.send(burst[sent:])
                except BlockingIOError:
                    pass
                if sent == len(burst):
                    s.shutdown(socket.SHUT_WR)  # everything is sent: the server may close once it answered
                    sel.modify(s, selectors.EVENT_READ)
            if mask & selectors.EVENT_READ:
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    closed, done = "reset", True
                    break
                if not chunk:
                    done = True
                    break
                buf += chunk
        if done:
            break
    answers = []
    while len(buf) >= 2:
        (ln,) = struct.unpack(">H", buf[:2])
        if len(buf) < 2 + ln:
            break
        m = buf[2 : 2 + ln]
        buf = buf[2 + ln :]
        answers.append({"id": struct.unpack(">H", m[:2])[0], "rcode": m[3] & 0xF})
    s.close()
    out({"sent": n, "written": sent == len(burst), "answers": answers, "closed": closed, "leftover": len(buf)})


cmd = sys.argv[1]
if cmd == "connect":
    connect(sys.argv[2], sys.argv[3])
elif cmd == "resolve":
    resolve(sys.argv[2])
elif cmd == "pipeline":
    pipeline(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
else:
    sys.exit(f"unknown command {cmd}")
