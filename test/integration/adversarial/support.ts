// What the adversarial suite's attacks share: the hostile application's clients, run in
// the lab's sandbox namespace as one of the attacker identities (test/support/attacker.ts),
// each returning what that application sees.
import { join } from "node:path";
import { as, type Identity } from "../../support/attacker.ts";
import { LAB, type Lab } from "../../support/lab.ts";

const APP = join(import.meta.dir, "app.py");

async function app(lab: Lab, who: Identity, args: string[], timeoutMs = 30_000): Promise<any> {
  // the system python: a shim under /root (pyenv) is not executable for uid 65534
  const r = await lab.exec("sandbox", as(who, ["/usr/bin/python3", APP, ...args]), { timeoutMs });
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`app.py ${args.join(" ")} as ${who}: exit ${r.code}, ${r.stdout} ${r.stderr}`);
  }
}

/** TCP connect and a request: "ok" (with the world's body), "refused", "timeout", ... */
export const connectAs = (lab: Lab, who: Identity, address: string, port = 80): Promise<{ result: string; ms: number; body?: string }> =>
  app(lab, who, ["connect", address, String(port)]);

/** glibc's getaddrinfo through the namespace's resolver (redirected to the proxy) */
export const resolveAs = (lab: Lab, who: Identity, name: string): Promise<{ addresses?: string[]; error?: string }> => app(lab, who, ["resolve", name]);

/** n queries pipelined in one TCP write to port 53, then a FIN; what came back */
export const pipelineAs = (lab: Lab, who: Identity, n: number, names: string[], server: string = LAB.dnsV4): Promise<{ sent: number; written: boolean; answers: { id: number; rcode: number }[]; closed: string; leftover: number }> =>
  app(lab, who, ["pipeline", server, String(n), ...names], 60_000);

export interface DigSeen {
  rcode: string;
  /** "A 198.51.100.10", "CNAME x.example.com." ... of the answer section */
  answers: string[];
  ede: string | null;
  raw: string;
}

/** kdig to port 53 of the namespace's resolver, with EDNS (so a denial carries its EDE) */
export async function digAs(lab: Lab, who: Identity, name: string, type = "A", extra: string[] = []): Promise<DigSeen> {
  const r = await lab.exec("sandbox", as(who, ["kdig", "+timeout=4", "+retry=0", "+edns", ...extra, `@${LAB.dnsV4}`, name, type]), { timeoutMs: 20_000 });
  const raw = r.stdout + r.stderr;
  const answers: string[] = [];
  const sect = r.stdout.split(";; ANSWER SECTION:")[1]?.split("\n\n")[0] ?? "";
  for (const line of sect.split("\n")) {
    const m = /\s(A|AAAA|CNAME|DNAME)\s+(\S+)$/.exec(line.trim());
    if (m) answers.push(`${m[1]} ${m[2]}`);
  }
  return { rcode: /status: ([A-Z]+)/.exec(raw)?.[1] ?? "NOANSWER", answers, ede: /;; EDE: (.*)$/m.exec(r.stdout)?.[1] ?? null, raw };
}
