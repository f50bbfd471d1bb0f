// After serve is killed and restarted, an application's DNS query that happens to leave
// from a source port one of the dead serve's upstream sockets used must still meet the
// redirect: judged by the policy, and answered only once its addresses are learned.
// The kernel keeps NAT decisions per flow (conntrack): serve's own upstream queries are
// exempt from the redirect (they carry its mark), and if the kernel tracked them, a flow
// entry "not redirected" would outlive the socket for 30-120 s, and a later packet with
// the same addresses and ports, from anyone, would follow it past the proxy. glibc picks
// its source port at random, so that used to happen about once per full test run: a
// restarted serve's curl was refused (exit 7) because Knot, not serve, had answered.
// Here every port the dead serve used is reused on purpose (docs/ruleset.md,
// "Untracked DNS").
import { expect, test } from "bun:test";
import { LAB, type Lab } from "../../support/lab.ts";
import { args, learned, policyText, serve, useLab, writePolicy } from "./helpers-serve.ts";

let lab: Lab;
let policy: string;
useLab((l) => {
  lab = l;
  policy = writePolicy(lab, policyText(["api.example.com", "other.example.com"]));
});

/** UDP sockets of `pid` in the sandbox that are connected to the upstream: their local ports */
async function upstreamPorts(pid: number): Promise<number[]> {
  const ss = (await lab.exec("sandbox", ["ss", "-unpa"])).stdout;
  const ports = [...ss.matchAll(/\S+:(\d+)\s+198\.51\.100\.53:53\s.*pid=(\d+),/g)].filter((m) => Number(m[2]) === pid).map((m) => Number(m[1]));
  return [...new Set(ports)];
}

/** the flows conntrack holds from the sandbox to the upstream's port 53 that were not redirected */
async function unredirected(): Promise<string[]> {
  const r = await lab.exec("sandbox", ["cat", "/proc/net/nf_conntrack"]);
  return r.stdout.split("\n").filter((l) => / dst=198\.51\.100\.53 .*dport=53 /.test(l) && / src=198\.51\.100\.53 /.test(l));
}

/** one query for `name` from source port `port` to the upstream's address, as an application sends it */
async function queryFrom(port: number, name: string): Promise<{ rcode: number; addresses: string[] }> {
  const py = `
import socket, struct, sys
port, name = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", port)); s.settimeout(4)
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\\0" + struct.pack(">HH", 1, 1)
s.sendto(q, ("${LAB.dnsV4}", 53))
r = s.recv(4096)
an, at = struct.unpack(">H", r[6:8])[0], len(q)
out = []
for _ in range(an):
    at += 2 if r[at] >= 0xc0 else len(r[at:].split(b"\\0")[0]) + 1
    typ, _cls, _ttl, rdlen = struct.unpack(">HHIH", r[at:at + 10]); at += 10
    if typ == 1: out.append(socket.inet_ntoa(r[at:at + 4]))
    at += rdlen
print(r[3] & 15, " ".join(out))`;
  const r = await lab.exec("sandbox", ["python3", "-c", py, String(port), name]);
  if (r.code !== 0) throw new Error(`query from port ${port}: ${r.stderr}`);
  const [rcode, ...addresses] = r.stdout.trim().split(/\s+/);
  return { rcode: Number(rcode), addresses };
}

// dns+nftables, and dns-only through the iptables fallback (no nftables at all)
for (const [mode, env] of [["dns+nftables", {}], ["dns-only through iptables", { EGRESSCTL_NFT_BACKEND: "none" }]] as const) {
  test(`${mode}: a restarted serve judges and learns queries from every source port its killed predecessor used`, async () => {
    const first = await serve(lab, args(policy), { env });
    // the dead serve's flows must have existed: it forwarded queries over its pool sockets
    for (let i = 0; i < 12; i++) expect((await queryFrom(40_000 + i, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
    const ports = await upstreamPorts(first.proc.pid);
    expect(ports.length).toBeGreaterThan(0);
    expect(await unredirected()).toEqual([]); // serve's own queries leave no flow behind
    await first.stop("SIGKILL");
    await serve(lab, args(policy), { env });

    for (const port of ports) {
      // a denied name is the proxy's NXDOMAIN, not the upstream's answer
      expect({ port, ...(await queryFrom(port, "evil.example.com")) }).toEqual({ port, rcode: 3, addresses: [] });
      // an allowed name is answered (and, where serve learns, only once its address is learned)
      expect({ port, ...(await queryFrom(port, "other.example.com")) }).toEqual({ port, rcode: 0, addresses: ["198.51.100.11"] });
    }
    if (mode === "dns+nftables") expect(await learned(lab)).toContain("198.51.100.11");
    expect(await unredirected()).toEqual([]);
  });
}
