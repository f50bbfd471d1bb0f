// What the adversarial suite's attacks share. Its lab: one per file, with Knot, the
// world's hosts and the real `serve` in dns+nftables mode with a deny-by-default policy
// that allows a few names. And the hostile application's clients (app.py, attack.py's
// moves, real clients), run in the lab's sandbox namespace as one of the attacker
// identities (test/support/attacker.ts), each returning what that application sees;
// refusals are asserted from the application's side and in serve's log.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll } from "bun:test";
import { as, type Identity } from "../../support/attacker.ts";
import { startKnot } from "../../support/knot.ts";
import { LAB, Lab, waitFor } from "../../support/lab.ts";
import { startServe, type Served } from "../../support/serve.ts";
import { startWorld } from "../../support/world.ts";
import { LAB_ENV, policyText } from "../serve/helpers-serve.ts";

export { LAB };

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

/** the names every adversarial policy allows; everything else is denied */
export const ALLOWED = ["api.example.com", "*.ok.example.com"];

/** the interpreter by absolute path: the identities cannot read root's $PATH shims */
export const PY = "/usr/bin/python3";
const ATTACK = readFileSync(join(import.meta.dir, "attack.py"), "utf8");

export interface AdversarialLab {
  lab: Lab;
  served: Served;
}

export interface LabOptions {
  allow?: string[];
  /** extra serve flags */
  flags?: string[];
  /** false: no --upstream, so serve takes resolv.conf's (or the kernel's record) */
  upstream?: false;
  env?: Record<string, string>;
  /** set up the world before serve starts (e.g. sysctls in the world namespace) */
  before?: (lab: Lab) => Promise<void>;
}

/** serve's argv for the adversarial policy (upstream: the lab's Knot) */
export function serveArgv(lab: Lab, o: LabOptions = {}): string[] {
  const policy = lab.file(`adversarial-${Math.random().toString(36).slice(2)}.json`, policyText(o.allow ?? ALLOWED));
  return ["serve", policy, ...(o.upstream === false ? [] : ["--upstream", LAB.dnsV4]), ...(o.flags ?? [])];
}

/** One lab and one serve for the whole file; `get()` hands them to the tests. */
export function useAdversarialLab(o: LabOptions = {}): () => AdversarialLab {
  let ctx: AdversarialLab | undefined;
  let lab: Lab | undefined;
  beforeAll(async () => {
    lab = await Lab.create();
    await startKnot(lab);
    await startWorld(lab);
    await o.before?.(lab);
    const served = await startServe(lab, serveArgv(lab, o), { env: { ...LAB_ENV, ...o.env } });
    ctx = { lab, served };
  });
  afterAll(async () => {
    await lab?.destroy();
  });
  return () => {
    if (!ctx) throw new Error("the adversarial lab is not ready");
    return ctx;
  };
}

/** serve again with other options (the previous one is stopped; its ruleset is replaced; `before` runs in between) */
export async function restart(ctx: AdversarialLab, o: LabOptions = {}): Promise<Served> {
  await ctx.served.stop("SIGKILL");
  await o.before?.(ctx.lab);
  ctx.served = await startServe(ctx.lab, serveArgv(ctx.lab, o), { env: { ...LAB_ENV, ...o.env } });
  return ctx.served;
}

/** root keeping CAP_NET_RAW, without CAP_NET_ADMIN: a root container as engines start it, minus NET_ADMIN */
export const WITH_NET_RAW = ["setpriv", "--inh-caps=-net_admin", "--ambient-caps=-net_admin", "--bounding-set=-net_admin"];

/** one of attack.py's moves in the sandbox behind any prefix (an identity's, or WITH_NET_RAW): every line it printed */
export async function attackLines(lab: Lab, prefix: string[], move: string[], timeoutMs = 20_000): Promise<string[]> {
  const r = await lab.exec("sandbox", [...prefix, PY, "-c", ATTACK, ...move], { timeoutMs });
  if (r.stderr.trim()) throw new Error(`attack.py ${move.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout.trim().split("\n");
}

/** one of attack.py's moves in the sandbox, as `who`; its last line of output */
export async function attack(lab: Lab, who: Identity, move: string[], timeoutMs = 20_000): Promise<string> {
  return (await attackLines(lab, as(who, []), move, timeoutMs)).at(-1) ?? "";
}

/** a long-running move (a listener): its lines as they come, and a handle to end it */
export function attackSpawn(lab: Lab, who: Identity, move: string[]) {
  const proc = lab.spawn("sandbox", as(who, [PY, "-c", ATTACK, ...move]));
  let text = "";
  void (async () => {
    for await (const chunk of proc.stdout) text += new TextDecoder().decode(chunk);
  })();
  return {
    proc,
    output: () => text,
    async waitLine(re: RegExp, timeoutMs = 15_000) {
      const line = () => text.split("\n").find((l) => re.test(l));
      await waitFor(`attack.py ${move[0]} to print ${re}`, () => line() !== undefined, timeoutMs);
      return line()!;
    },
    stop: () => lab.stop(proc, "SIGKILL"),
  };
}

/** one of attack.py's moves of a host outside the sandbox, in the world namespace (as root) */
export async function outside(lab: Lab, move: string[], timeoutMs = 20_000): Promise<string> {
  const r = await lab.exec("world", [PY, "-c", ATTACK, ...move], { timeoutMs });
  if (r.stderr.trim()) throw new Error(`attack.py ${move.join(" ")} in the world: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** kdig from the sandbox as `who`: the status word and the EDE line */
export async function kdig(lab: Lab, who: Identity, name: string, opts: string[] = []): Promise<{ status: string; ede: string; raw: string }> {
  const r = await lab.exec("sandbox", as(who, ["kdig", "+timeout=3", "+retry=0", ...opts, name]));
  const raw = r.stdout + r.stderr;
  return { status: /status: (\w+)/.exec(raw)?.[1] ?? `NOANSWER(${r.code})`, ede: /;; EDE: (.*)$/m.exec(raw)?.[1] ?? "", raw };
}

/**
 * tcpdump in the world namespace, on every interface: what reached the world's side of
 * the lab (one line per packet, payload as ASCII). Started and ready before it returns.
 */
export async function capture(lab: Lab, filter: string[]) {
  const proc = lab.spawn("world", ["tcpdump", "-i", "any", "-n", "-l", "-U", "-A", "-s", "0", ...filter]);
  let text = "";
  let err = "";
  void (async () => {
    for await (const chunk of proc.stdout) text += new TextDecoder().decode(chunk);
  })();
  void (async () => {
    for await (const chunk of proc.stderr) err += new TextDecoder().decode(chunk);
  })();
  await waitFor("tcpdump listening", () => {
    if (proc.exitCode !== null) throw new Error(`tcpdump exited: ${err}`);
    return err.includes("listening on");
  });
  return {
    text: () => text,
    /** until `marker` was captured: everything sent before it has been printed too */
    until: (marker: string) => waitFor(`${marker} in the capture`, () => text.includes(marker)),
    stop: () => lab.stop(proc),
  };
}

/** a named counter of table inet egressctl (denied_*): packets so far */
export async function counter(lab: Lab, name: string): Promise<number> {
  const r = await lab.exec("sandbox", ["nft", "-j", "list", "counter", "inet", "egressctl", name]);
  if (r.code !== 0) throw new Error(`no counter ${name}: ${r.stderr}`);
  return Number(JSON.parse(r.stdout).nftables.find((o: any) => o.counter)?.counter.packets ?? 0);
}

/** the event serve logs for a denied flow, with its reason */
export function netDenied(s: Served, destination: string, port: number, reason: string, protocol?: string) {
  return s.waitEvent((e) => e.event === "net.denied" && e.destination === destination && e.port === port && e.reason === reason && (!protocol || e.protocol === protocol));
}

/** the event serve logs for a denied name */
export function dnsDenied(s: Served, name: string) {
  return s.waitEvent((e) => e.event === "dns.denied" && e.name === name);
}

/** one address per identity, so the events of one cannot stand in for the other's */
export function hostFor(who: Identity, family: 4 | 6 = 4): string {
  const n = who === "nobody" ? 61 : 62;
  return family === 4 ? `198.51.100.${n}` : `2001:db8:100::${n}`;
}
