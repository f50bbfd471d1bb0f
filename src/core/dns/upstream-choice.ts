// Which upstream resolvers serve uses, and why (docs/security.md, "Upstreams are pinned").
// Configured ones (--upstream, OPENSANDBOX_EGRESS_DNS_UPSTREAM) always win. Without them,
// the set recorded in the kernel by an earlier serve in this namespace wins over
// resolv.conf: resolv.conf is a file a root application can rewrite, and a serve that
// re-read it after a crash would take the application's resolver as its upstream and
// mark its queries to it. resolv.conf is read only at a first start. An upstream on the
// namespace's own addresses is refused from every source: the application could run a
// resolver there, or take its place; only an explicit opt-in (--allow-local-upstream)
// lets a configured one through, loudly. Pure.
import { parseAddress } from "../net/ip.ts";
import type { UpstreamOrigin } from "../ruleset/model.ts";
import type { RecordedUpstreams } from "../ruleset/upstream-record.ts";
import { parseResolvConf, parseUpstream, parseUpstreamList, upstreamAt, type IsOwn, type Upstream } from "./upstreams.ts";

export interface UpstreamInput {
  spec?: string;
  resolvConf: { ok: true; text: string } | { ok: false; error: string };
  /** what an earlier serve recorded in the kernel; null when nothing is */
  recorded: RecordedUpstreams | null;
  self: { host: string; port: number }[];
  own: IsOwn;
  /** --allow-local-upstream: a configured (never a resolv.conf) upstream may be the namespace's own */
  allowLocal?: boolean;
}

export interface UpstreamNote {
  event: "upstream.pinned" | "upstream.replaced" | "upstream.local";
  level: "info" | "warn";
  fields: Record<string, unknown>;
}

export interface UpstreamChoice {
  upstreams: Upstream[];
  origin: UpstreamOrigin;
  /** kept from the kernel's record rather than read now */
  pinned: boolean;
  problems: string[];
  notes: UpstreamNote[];
  /** upstreams on the namespace's own addresses, let through by --allow-local-upstream */
  local: string[];
}

const labels = (us: readonly { label: string }[]) => us.map((u) => u.label);
const same = (a: readonly { label: string }[], b: readonly { label: string }[]) => labels(a).join(",") === labels(b).join(",");
const recordedLabels = (r: RecordedUpstreams) => r.upstreams.map((u) => upstreamAt(u.family, u.address, u.port));

export function chooseUpstreams(i: UpstreamInput): UpstreamChoice {
  const choice = choose(i);
  const isOwn = (u: Upstream) => {
    const a = parseAddress(u.address);
    return a !== null && i.own(a);
  };
  const local = i.allowLocal ? choice.upstreams.filter(isOwn).map((u) => u.label) : [];
  if (local.length) {
    choice.notes.push({ event: "upstream.local", level: "warn", fields: { upstreams: local, note: "an upstream on this namespace's own address (--allow-local-upstream): the application could answer in its place whenever the resolver there is not listening" } });
  }
  return { ...choice, local };
}

function choose(i: UpstreamInput): Omit<UpstreamChoice, "local"> {
  // what the opt-in opens is configured upstreams only: resolv.conf is never trusted so
  const ownFor = (origin: UpstreamOrigin): IsOwn | undefined => (i.allowLocal && origin === "configured" ? undefined : i.own);
  if (i.spec) {
    const p = parseUpstreamList(i.spec, i.self, ownFor("configured"));
    const notes: UpstreamNote[] = [];
    if (i.recorded && p.upstreams.length && !same(recordedLabels(i.recorded), p.upstreams)) {
      notes.push({ event: "upstream.replaced", level: "info", fields: { recorded: labels(recordedLabels(i.recorded)), upstreams: labels(p.upstreams), note: "the configured upstreams replace the ones recorded in the kernel" } });
    }
    return { upstreams: p.upstreams, origin: "configured", pinned: false, problems: p.problems, notes };
  }
  const fromFile = i.resolvConf.ok ? parseResolvConf(i.resolvConf.text, i.self, i.own) : null;
  if (i.recorded) {
    // checked again: the namespace may have gained the address since it was recorded
    const problems: string[] = [];
    const upstreams: Upstream[] = [];
    for (const r of recordedLabels(i.recorded)) {
      const u = parseUpstream(r.label, i.self, ownFor(i.recorded.origin));
      if (typeof u === "string") problems.push(`recorded upstream ${u}`);
      else upstreams.push(u);
    }
    if (upstreams.length) {
      const differs = fromFile !== null && !same(upstreams, fromFile.upstreams);
      const fields: Record<string, unknown> = { upstreams: labels(upstreams), origin: i.recorded.origin };
      if (differs) {
        fields.resolvConf = labels(fromFile.upstreams);
        fields.note = "resolv.conf names other resolvers than the ones recorded in the kernel at the first start; they are NOT used (set --upstream to change the upstreams)";
      }
      return { upstreams, origin: i.recorded.origin, pinned: true, problems, notes: [{ event: "upstream.pinned", level: differs ? "warn" : "info", fields }] };
    }
    const first = fromOrError(i, fromFile);
    return { ...first, problems: [...problems, ...first.problems] };
  }
  return fromOrError(i, fromFile);
}

function fromOrError(i: UpstreamInput, fromFile: { upstreams: Upstream[]; problems: string[] } | null): Omit<UpstreamChoice, "local"> {
  if (!fromFile) return { upstreams: [], origin: "resolv.conf", pinned: false, problems: [`/etc/resolv.conf: ${(i.resolvConf as { error: string }).error}`], notes: [] };
  return { upstreams: fromFile.upstreams, origin: "resolv.conf", pinned: false, problems: fromFile.problems, notes: [] };
}

