// doctor's real effects: HTTP over serve's status socket, a read of table inet
// egressctl through the nft backend (list commands only: doctor never changes the
// kernel), `iptables -C` for the fallback's chains (a check, no change), one DNS query
// from an ordinary, unmarked UDP socket, and a read of /proc.
import dnsPacket from "dns-packet";
import { openNftBackend } from "../../effects/nft/backend.ts";
import type { KernelSettings } from "../../core/config/kernel-settings.ts";
import { chainsText } from "../../effects/nft/chain-text.ts";
import { EDNS_OPTION_EDE, OUR_UDP_SIZE } from "../../core/dns/build.ts";
import type { DnsProbe, KernelRead } from "../../core/doctor/input.ts";
import type { DoctorEffects } from "./doctor.ts";
import { scanPrivileged } from "../../effects/sys/proc-scan.ts";
import { iptablesHooks } from "../../effects/iptables/redirect.ts";
import { ipv6Facts } from "../../effects/probe/ipv6.ts";

export function realEffects(socket: string, kernel: KernelSettings, timeoutMs = 3000): DoctorEffects {
  return {
    async get(path) {
      try {
        const r = await fetch(`http://egressctl${path}`, { unix: socket, signal: AbortSignal.timeout(timeoutMs) } as RequestInit);
        return { status: r.status, body: await r.text() };
      } catch (e) {
        throw new Error(socketError(e));
      }
    },
    readKernel: () => readKernel(kernel),
    readIptables: () => {
      const hooks = iptablesHooks(ipv6Facts().enabled);
      return "error" in hooks ? hooks : { hooks };
    },
    queryDns: (address, family, name) => queryDns(address, family, name, timeoutMs),
    scanPrivileged,
    nonce: () => crypto.randomUUID().slice(0, 8),
    now: Date.now,
  };
}

/** what a failed connection to the status socket means, in the operator's words */
export function socketError(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === "ENOENT") return "no such socket (is serve running? its --status-socket, or EGRESSCTL_STATUS_SOCKET, names another path?)";
  if (code === "ECONNREFUSED") return "connection refused: a socket file is there but nothing listens (serve stopped or was killed)";
  if (code === "EACCES" || code === "EPERM") return "permission denied: the socket is 0600, run doctor as the user serve runs as (root, in serve's container)";
  if ((e as Error).name === "TimeoutError") return "serve did not answer in time";
  return (e as Error).message ?? String(e);
}

function readKernel(kernel: KernelSettings): KernelRead {
  const nft = openNftBackend(kernel);
  if ("unavailable" in nft) return { error: `nftables unavailable: ${nft.unavailable}` };
  const listing = nft.listTableJson();
  if (listing === null) return { listing: null, chainText: "" };
  return { listing, chainText: chainsText(nft) };
}

async function queryDns(address: string, family: 4 | 6, name: string, timeoutMs: number): Promise<DnsProbe["result"]> {
  const id = 1 + Math.floor(Math.random() * 65534);
  const query = dnsPacket.encode({
    type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name }],
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: OUR_UDP_SIZE, flags: 0, options: [] } as any],
  });
  let done: (r: DnsProbe["result"]) => void = () => {};
  const answered = new Promise<DnsProbe["result"]>((resolve) => (done = resolve));
  const sock = await Bun.udpSocket({
    hostname: family === 6 ? "::" : "0.0.0.0",
    socket: {
      data(_s, buf) {
        try {
          const p = dnsPacket.decode(Buffer.from(buf)) as dnsPacket.DecodedPacket & { rcode?: string };
          if (p.id !== id) return;
          done({ rcode: String(p.rcode ?? "?"), ede: edeOf(p) });
        } catch {
          // not a DNS answer: keep waiting
        }
      },
      error(_s, err) {
        done({ error: err.message });
      },
    },
  });
  const timer = setTimeout(() => done({ error: `no answer within ${timeoutMs} ms` }), timeoutMs);
  try {
    sock.send(query, 53, address);
    return await answered;
  } finally {
    clearTimeout(timer);
    sock.close();
  }
}

function edeOf(p: any): { code: number; text: string }[] {
  const out: { code: number; text: string }[] = [];
  for (const rr of p.additionals ?? []) {
    if (rr.type !== "OPT") continue;
    for (const o of rr.options ?? []) {
      if (o.code !== EDNS_OPTION_EDE || !o.data || o.data.length < 2) continue;
      out.push({ code: o.data.readUInt16BE(0), text: o.data.subarray(2).toString("utf8") });
    }
  }
  return out;
}
