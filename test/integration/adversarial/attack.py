"""The hostile application's moves, one subcommand each, run in the lab's sandbox under one
of the identities of test/support/attacker.ts. Each prints one line saying what the
application saw: "reached ..." when the attack got through, else the error it met.
Plain python3 sockets, no privileges assumed.

  tcp HOST PORT                    connect and send an HTTP request
  udp HOST PORT                    send a datagram, wait for the echo
  mark                             setsockopt(SO_MARK) on a UDP and a TCP socket
  srh FINAL FIRST PORT             UDP over IPv6 with a type-4 routing header (IPV6_RTHDR):
                                   FIRST is the first hop, FINAL the last segment
  lsrr FINAL FIRST PORT            UDP over IPv4 with a loose source route option (IP_OPTIONS)
  reply-first PORT NAME [DELAY]    bind UDP PORT; when a host sends first, answer it with a
                                   DNS query for NAME (the answer leaves in conntrack's
                                   reply direction), DELAY seconds later (default 0)
  tcp-listen PORT NAME             accept one TCP connection; send a DNS-over-TCP query for NAME
  rawframe IFACE DSTMAC SRC DST PORT  an Ethernet/IPv4/UDP frame on an AF_PACKET socket
                                   (needs NET_RAW), then wait for the echo on a UDP socket
  flood SERVER PORT SECONDS        UDP queries for ever-new denied names, as fast as it can
  multi SERVER PORT FIRST SECOND   one query with two questions
  dns SERVER PORT NAME QTYPE udp|tcp  one query with EDNS; NAME may hold \\xHH escapes (any
                                   byte in a label); prints the rcode and the EDE text

The other side, run in the world namespace as a host outside the sandbox:

  udp-first SRC SPORT DST DPORT [WAIT]  send a datagram from SRC:SPORT first, print what
                                   comes back within WAIT seconds (default 2)
  tcp-first SRC SPORT DST DPORT    connect from SRC:SPORT first, print what comes back
"""
import os, random, socket, struct, sys, time

SO_MARK = 36


def out(*words):
    print(*words, flush=True)


def err(e):
    return f"{type(e).__name__} errno={getattr(e, 'errno', None)}"


def reported(move):
    """a move whose failure is its result: the error is printed, as the application saw it"""
    def run(*args):
        try:
            move(*args)
        except Exception as e:
            out(err(e))
    return run


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def query(name, qtype=1, qid=None, questions=None, edns=False):
    """a DNS query (RD set) for name; `questions`: several (name, qtype) pairs"""
    qs = questions or [(name, qtype)]
    head = struct.pack("!HHHHHH", qid or random.randint(1, 65535), 0x0100, len(qs), 0, 0, 1 if edns else 0)
    body = b""
    for n, t in qs:
        for label in (n if isinstance(n, list) else n.rstrip(".").split(".")):
            raw = label.encode("latin-1")
            body += bytes([len(raw)]) + raw
        body += b"\x00" + struct.pack("!HH", t, 1)
    if edns:
        body += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return head + body


def skip_name(buf, i):
    while True:
        n = buf[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += 1 + n


def ede_of(buf):
    """the Extended DNS Error texts (option 15) of a response's OPT record"""
    qd, an, ns, ar = struct.unpack("!HHHH", buf[4:12])
    i = 12
    for _ in range(qd):
        i = skip_name(buf, i) + 4
    texts = []
    for k in range(an + ns + ar):
        i = skip_name(buf, i)
        rtype, _, _, rdlen = struct.unpack("!HHIH", buf[i:i + 10])
        i += 10
        if rtype == 41 and k >= an + ns:
            j = i
            while j < i + rdlen:
                code, olen = struct.unpack("!HH", buf[j:j + 4])
                if code == 15:
                    texts.append(buf[j + 6:j + 4 + olen].decode("utf-8", "replace"))
                j += 4 + olen
        i += rdlen
    return texts


@reported
def dns(server, port, name, qtype, proto):
    # split first: an escaped dot (\\x2e) stays inside its label
    labels = [label.encode("latin-1").decode("unicode_escape") for label in name.rstrip(".").split(".")]
    q = query(labels, int(qtype), edns=True)
    if proto == "tcp":
        s = socket.socket(family(server), socket.SOCK_STREAM)
        s.settimeout(4)
        s.connect((server, int(port)))
        s.sendall(struct.pack("!H", len(q)) + q)
        n = struct.unpack("!H", s.recv(2))[0]
        data = b""
        while len(data) < n:
            data += s.recv(n - len(data))
    else:
        s = socket.socket(family(server), socket.SOCK_DGRAM)
        s.settimeout(4)
        s.sendto(q, (server, int(port)))
        data = s.recv(4096)
    out(f"rcode {data[3] & 0x0F} ede {'|'.join(ede_of(data)) or '-'}")


@reported
def tcp(host, port):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.settimeout(4)
    s.connect((host, int(port)))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    out("reached", s.recv(500).split(b"\r\n\r\n")[-1].decode().strip())


@reported
def udp(host, port):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(b"x", (host, int(port)))
    data, _ = s.recvfrom(500)
    out("reached", data.decode().strip())


def mark():
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_MARK, 0x45474C)
            out("marked", "udp" if kind == socket.SOCK_DGRAM else "tcp")
        except Exception as e:
            out(err(e))


def with_option(fam, level, name, value, dest, payload):
    """a datagram sent with a socket option set: the option refused, or what came back"""
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.setsockopt(level, name, value)
    except Exception as e:
        return out("setsockopt", err(e))
    try:
        s.sendto(payload, dest)
        out("reached", s.recvfrom(500)[0].decode().strip())
    except Exception as e:
        out(err(e))


def srh(final, first, port):
    segs = [socket.inet_pton(socket.AF_INET6, final), socket.inet_pton(socket.AF_INET6, first)]
    # RFC 8754: next header (the kernel fills it), length in 8-octet units, type 4,
    # segments left, last entry, flags, tag, then the segments, the last one first
    hdr = struct.pack("!BBBBBBH", 0, 2 * len(segs), 4, len(segs) - 1, len(segs) - 1, 0, 0) + b"".join(segs)
    # the kernel sends to segments[segments left] (FIRST) and puts FINAL in segments[0]
    with_option(socket.AF_INET6, socket.IPPROTO_IPV6, socket.IPV6_RTHDR, hdr, (final, int(port)), b"srh")


def lsrr(final, first, port):
    # option 131: type, length, pointer 4, then the route after the first hop (the final), NOP
    opt = bytes([131, 7, 4]) + socket.inet_aton(final) + b"\x01"
    with_option(socket.AF_INET, socket.IPPROTO_IP, socket.IP_OPTIONS, opt, (first, int(port)), b"lsrr")


def reply_first(port, name, delay="0"):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", int(port)))
    s.settimeout(15)
    out("listening")
    try:
        data, peer = s.recvfrom(500)
        out("contacted by", peer[0].removeprefix("::ffff:"), peer[1])
        time.sleep(float(delay))
        s.sendto(query(name), peer)
        out("sent")
    except Exception as e:
        out(err(e))


def tcp_listen(port, name):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", int(port)))
    s.listen(1)
    s.settimeout(15)
    out("listening")
    try:
        c, peer = s.accept()
        out("contacted by", peer[0].removeprefix("::ffff:"), peer[1])
        q = query(name)
        c.sendall(struct.pack("!H", len(q)) + q)
        out("sent")
    except Exception as e:
        out(err(e))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def rawframe(iface, dstmac, src, dst, port):
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind((src, 0))
    listener.settimeout(3)
    sport = listener.getsockname()[1]
    payload = b"raw"
    udph = struct.pack("!HHHH", sport, int(port), 8 + len(payload), 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(udph) + len(payload))
    udph = udph[:6] + struct.pack("!H", csum(pseudo + udph + payload) or 0xFFFF)
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udph) + len(payload), random.randint(0, 65535), 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
    iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
    try:
        raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        raw.bind((iface, 0))
        mac = bytes.fromhex(dstmac.replace(":", ""))
        raw.send(mac + raw.getsockname()[4] + b"\x08\x00" + iph + udph + payload)
        out("frame sent")
        data, _ = listener.recvfrom(500)
        out("reached", data.decode().strip())
    except Exception as e:
        out(err(e))


def flood(server, port, seconds):
    s = socket.socket(family(server), socket.SOCK_DGRAM)
    s.setblocking(False)
    until = time.time() + float(seconds)
    sent = 0
    while time.time() < until:
        try:
            s.sendto(query(f"f{sent}-{random.randint(0, 1 << 30)}.flood.evil.example.com"), (server, int(port)))
            sent += 1
        except (BlockingIOError, PermissionError, ConnectionRefusedError):
            pass
        try:
            while s.recv(2048):
                pass
        except (BlockingIOError, ConnectionRefusedError):
            pass
    out("sent", sent)


@reported
def multi(server, port, first, second):
    s = socket.socket(family(server), socket.SOCK_DGRAM)
    s.settimeout(4)
    s.sendto(query(None, questions=[(first, 1), (second, 16)]), (server, int(port)))
    data = s.recv(4096)
    out("answered rcode", data[3] & 0x0F, "qdcount", struct.unpack("!H", data[4:6])[0])


def bound(kind, src, sport):
    s = socket.socket(family(src), kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # the lab's hosts are local through an AnyIP route only: IP_FREEBIND (15) to bind them
    s.setsockopt(socket.SOL_IP, 15, 1)
    s.bind((src, int(sport)))
    # the sandbox answers within milliseconds when it answers at all; its refusals are
    # asserted on its own side (EPERM) and in serve's log, not by this wait
    s.settimeout(2)
    return s


@reported
def udp_first(src, sport, dst, dport, wait="2"):
    s = bound(socket.SOCK_DGRAM, src, sport)
    s.settimeout(float(wait))
    s.sendto(b"hello", (dst, int(dport)))
    data, _ = s.recvfrom(4096)
    out("got", data.hex())


@reported
def tcp_first(src, sport, dst, dport):
    s = bound(socket.SOCK_STREAM, src, sport)
    s.connect((dst, int(dport)))
    out("connected")
    out("got", s.recv(4096).hex())


CMDS = {"tcp": tcp, "udp": udp, "mark": mark, "srh": srh, "lsrr": lsrr, "reply-first": reply_first, "tcp-listen": tcp_listen, "rawframe": rawframe, "flood": flood, "multi": multi, "dns": dns, "udp-first": udp_first, "tcp-first": tcp_first}

if __name__ == "__main__":
    CMDS[sys.argv[1]](*sys.argv[2:])
