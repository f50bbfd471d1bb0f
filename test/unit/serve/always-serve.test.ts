// serve's side of the always lists and of OpenSandbox's environment, with effects faked:
// the DoH settings, the persisted-file fallback, dns.allowed and log_skip.always, the
// keeper that re-reads the lists, and a change of the lists applied like a reload.
import { describe, expect, test } from "bun:test";
import { keepAlways } from "../../../src/app/serve/always-watch.ts";
import { dnsEventSink, newLayerCounts } from "../../../src/app/serve/dns-events.ts";
import { fakeEnforcer } from "./fake-enforcer.ts";
import { compilePolicy, type LivePolicy } from "../../../src/app/serve/live-policy.ts";
import { choosePolicy, type ReadText } from "../../../src/app/serve/policy-source.ts";
import { PendingRemovals } from "../../../src/app/serve/remove-learned.ts";
import { applyAlways } from "../../../src/app/serve/reloader.ts";
import { parseAlwaysFile } from "../../../src/core/always/parse.ts";
import { noAlwaysRules, type AlwaysRules } from "../../../src/core/always/types.ts";
import { Ring } from "../../../src/core/events/ring.ts";
import { LearnTable } from "../../../src/core/learn/table.ts";
import { loadPolicyText } from "../../../src/core/policy/load.ts";
import type { Decision } from "../../../src/core/policy/types.ts";
import { dohFromSettings } from "../../../src/core/ruleset/doh.ts";
import type { DnsEvent } from "../../../src/effects/dns/events.ts";
import type { AlwaysRead } from "../../../src/effects/fs/always-files.ts";

const lists = (deny: string, allow = "", logSkip = ""): AlwaysRules => ({
  dir: "/r",
  deny: parseAlwaysFile(deny, "deny", "/r/deny.always"),
  allow: parseAlwaysFile(allow, "allow", "/r/allow.always"),
  logSkip: parseAlwaysFile(logSkip, "log_skip", "/r/log_skip.always"),
});

function fakeLog() {
  const events: { event: string; fields: Record<string, any>; level?: string }[] = [];
  return { events, log: { emit: (event: string, fields: Record<string, unknown> = {}, level?: string) => void events.push({ event, fields, level }), emitLimited: (_k: string, event: string, fields: Record<string, unknown>, level?: string) => void events.push({ event, fields, level }) } };
}

describe("OPENSANDBOX_EGRESS_BLOCK_DOH_443 with OPENSANDBOX_EGRESS_DOH_BLOCKLIST", () => {
  const cases: [string, string | undefined, string | undefined, string, number][] = [
    ["unset: egressctl's built-in list, after static allows", undefined, undefined, "listed", 20],
    ["unset, with a list: that list", undefined, "203.0.113.143", "listed", 1],
    ["true, no list: strict (all of 443)", "true", undefined, "strict", 0],
    ["true, an empty list: strict", "1", "", "strict", 0],
    ["true, a list of typos: strict (fails closed)", "yes", "nope, 1.2.3", "strict", 0],
    ["true, a list: the list before every allow", "on", "203.0.113.143,2001:db8:200::143", "operator", 1],
    ["false: off", "false", "203.0.113.143", "off", 0],
    ["0: off", "0", undefined, "off", 0],
  ];
  for (const [what, block, list, stance, v4] of cases) {
    test(what, () => {
      const r = dohFromSettings(block, list);
      expect(r.stance).toBe(stance as never);
      if (stance === "listed" && list === undefined) expect(r.list[4].length).toBeGreaterThan(v4);
      else expect(r.list[4].length).toBe(v4);
    });
  }
  test("neither true nor false: read as unset, said so", () => {
    const r = dohFromSettings("maybe", undefined);
    expect(r.stance).toBe("listed");
    expect(r.problems[0]).toMatch(/'maybe' is neither true nor false/);
  });
});

describe("OPENSANDBOX_EGRESS_POLICY_FILE that is empty", () => {
  const files: Record<string, string> = { "/p/empty.json": "  \n", "/p/null.json": "null", "/p/rules.json": '{"egress":[{"action":"allow","target":"a.example.com"}]}' };
  const read: ReadText = (p) => (p in files ? { ok: true, text: files[p]! } : { ok: false, error: "no such file" });
  const rules = '{"defaultAction":"deny","egress":[{"action":"allow","target":"b.example.com"}]}';
  test("falls back to OPENSANDBOX_EGRESS_RULES, as in OpenSandbox, with a note", () => {
    const r = choosePolicy({ envPolicyFile: "/p/empty.json", envRules: rules }, read);
    expect(r.ok && r.choice.source).toBe("env:OPENSANDBOX_EGRESS_RULES");
    expect(r.ok && r.choice.policy.rules[0]!.target).toBe("b.example.com");
    expect(r.ok && r.choice.notes[0]).toMatch(/empty; falling back to OPENSANDBOX_EGRESS_RULES/);
  });
  test("empty with no RULES: deny-all by default", () => {
    const r = choosePolicy({ envPolicyFile: "/p/empty.json" }, read);
    expect(r.ok && r.choice.source).toBe("default:deny-all");
  });
  test("`null` in the file is a policy (deny-all), not emptiness", () => {
    const r = choosePolicy({ envPolicyFile: "/p/null.json", envRules: rules }, read);
    expect(r.ok && r.choice.source).toBe("env:OPENSANDBOX_EGRESS_POLICY_FILE:/p/null.json");
  });
  test("a valid file still beats RULES", () => {
    const r = choosePolicy({ envPolicyFile: "/p/rules.json", envRules: rules }, read);
    expect(r.ok && r.choice.policy.rules[0]!.target).toBe("a.example.com");
  });
});

describe("dns.allowed, log_skip.always and the per-layer counts", () => {
  const allowed = (name: string, layer: Decision["layer"] = "policy"): DnsEvent => ({ type: "dns.allowed", name, qtype: 1, decision: { action: "allow", layer }, addresses: [{ family: 4, address: "198.51.100.10" }], client: "127.0.0.1:5000" });
  const denied = (name: string, layer: Decision["layer"] = "policy"): DnsEvent => ({ type: "dns.denied", name, qtype: 1, rule: "default deny", layer, client: "127.0.0.1:5000" });
  const setup = (logSkip: string) => {
    const { events, log } = fakeLog();
    const counts = newLayerCounts();
    const skip = compilePolicy(loadPolicyText("").policy!, "t", undefined, 0, lists("", "", logSkip)).logSkip;
    let t = 0;
    const sink = dnsEventSink({ log, violations: new Ring(16), logSkip: () => skip, counts, now: () => t });
    return { events, counts, sink, tick: (ms: number) => void (t += ms) };
  };

  test("an allowed resolution is logged with its addresses, rule and layer", () => {
    const s = setup("");
    s.sink(allowed("api.example.com", "allow.always"));
    expect(s.events).toEqual([{ event: "dns.allowed", fields: { name: "api.example.com", qtype: "A", addresses: ["198.51.100.10"], rule: "default allow", layer: "allow.always", client: "127.0.0.1:5000" }, level: undefined }]);
    expect(s.counts["allow.always"].allowed).toBe(1);
  });

  test("log_skip.always: allowed resolutions of those names are not logged, but counted; their denials are logged", () => {
    const s = setup("noisy.example.com\n*.telemetry.example\n");
    s.sink(allowed("noisy.example.com"));
    s.sink(allowed("a.telemetry.example"));
    s.sink(denied("noisy.example.com", "deny.always"));
    s.sink(allowed("api.example.com"));
    expect(s.events.map((e) => [e.event, e.fields.name])).toEqual([["dns.denied", "noisy.example.com"], ["dns.allowed", "api.example.com"]]);
    expect(s.events[0]!.fields.layer).toBe("deny.always");
    expect(s.counts.policy.allowed).toBe(3);
    expect(s.counts["deny.always"].denied).toBe(1);
  });

  test("a name resolved in a loop: 20 lines, then 2 a second, the suppressed count on the next; denials are not crowded out", () => {
    const s = setup("");
    for (let i = 0; i < 100; i++) s.sink(allowed("loop.example.com"));
    expect(s.events.filter((e) => e.event === "dns.allowed")).toHaveLength(20);
    s.sink(denied("evil.example.com"));
    expect(s.events.filter((e) => e.event === "dns.denied")).toHaveLength(1);
    s.tick(1000);
    s.sink(allowed("loop.example.com"));
    expect(s.events.at(-1)!.fields.suppressed).toBe(80);
  });
});

describe("keepAlways: the lists re-read and applied when what they mean changes", () => {
  const setup = (reads: AlwaysRead[]) => {
    const { events, log } = fakeLog();
    let current = noAlwaysRules("/r");
    const applied: string[] = [];
    let i = 0;
    const keeper = keepAlways({
      dir: "/nonexistent/egressctl-always-test",
      read: () => reads[Math.min(i++, reads.length - 1)]!,
      current: () => current,
      apply: async (next, why) => (applied.push(why), (current = next), true),
      log,
      pollMs: 60_000,
    });
    return { keeper, events, applied, current: () => current };
  };
  const ok = (a: AlwaysRules): AlwaysRead => ({ ok: true, rules: a });

  test("a change is applied once; the same meaning again (comments, spelling) is not", () => {
    const s = setup([ok(lists("evil.example.com")), ok(lists("# now with a comment\nEvil.Example.com.")), ok(lists("evil.example.com\nother.example.com"))]);
    s.keeper.check("t1");
    s.keeper.check("t2");
    s.keeper.check("t3");
    s.keeper.stop();
    expect(s.applied).toEqual(["t1", "t3"]);
    expect(s.current().deny.rules.map((r) => r.target)).toEqual(["evil.example.com", "other.example.com"]);
  });

  test("a bad line is a warning naming file:line, once per change", () => {
    const s = setup([ok(lists("evil.example.com:443"))]);
    s.keeper.check("t1");
    s.keeper.check("t2");
    s.keeper.stop();
    const w = s.events.filter((e) => e.event === "always.warning");
    expect(w).toHaveLength(1);
    expect(w[0]!.fields).toMatchObject({ file: "/r/deny.always", line: 1, text: "evil.example.com:443", readAs: "evil.example.com" });
  });

  test("a file that cannot be read keeps its previous rules; the others follow their files", () => {
    const s = setup([
      ok(lists("evil.example.com", "mirror.example.com")),
      { ok: false, errors: [{ list: "deny", path: "/r/deny.always", error: "permission denied" }], partial: { allow: parseAlwaysFile("mirror2.example.com", "allow", "/r/allow.always"), log_skip: parseAlwaysFile("", "log_skip", "/r/log_skip.always") } },
    ]);
    s.keeper.check("t1");
    s.keeper.check("t2");
    s.keeper.stop();
    expect(s.current().deny.rules.map((r) => r.target)).toEqual(["evil.example.com"]);
    expect(s.current().allow.rules.map((r) => r.target)).toEqual(["mirror2.example.com"]);
    expect(s.events.find((e) => e.event === "always.unreadable")!.fields).toMatchObject({ file: "/r/deny.always", error: "permission denied", kept: 1 });
  });

  test("the poll finds a change without any watch event", async () => {
    const { log } = fakeLog();
    let current = noAlwaysRules("/r");
    const keeper = keepAlways({ dir: "/nonexistent/egressctl-always-test", read: () => ok(lists("evil.example.com")), current: () => current, apply: async (n) => ((current = n), true), log, pollMs: 20 });
    const until = Date.now() + 5000;
    while (current.deny.rules.length === 0 && Date.now() < until) await Bun.sleep(10);
    keeper.stop();
    expect(current.deny.rules.map((r) => r.target)).toEqual(["evil.example.com"]);
  });
});

describe("applyAlways: like a reload, learned addresses still allowed stay", () => {
  test("a deny.always name loses its learned addresses, the others keep theirs; always.applied says what is in force", async () => {
    const { events, log } = fakeLog();
    const calls: string[] = [];
    const forgotten: string[] = [];
    const enforcer = fakeEnforcer({
      install: (_p, a) => (calls.push(`install deny=${a?.deny.rules.length ?? 0}`), { ok: true, digest: "x" }),
      forget: (addrs) => (forgotten.push(...addrs.map((a) => a.address)), { ok: true }),
    });
    const table = new LearnTable();
    table.add({ name: "api.example.com", addresses: [{ family: 4, address: "198.51.100.10" }], ttl: 300 }, Date.now());
    table.add({ name: "other.example.com", addresses: [{ family: 4, address: "198.51.100.11" }], ttl: 300 }, Date.now());
    let live: LivePolicy = compilePolicy(loadPolicyText('{"egress":[{"action":"allow","target":"*.example.com"}]}').policy!, "t", undefined, 0);
    const counts = { ok: 0, failed: 0, lastError: null as string | null };
    const ctx = { mode: "dns+nftables" as const, enforcer, table, log, read: () => ({ ok: false as const, error: "x" }), live: () => live, swap: (n: LivePolicy) => void (live = n), counts, pending: new PendingRemovals() };
    const r = await applyAlways(ctx, lists("other.example.com"), "deny.always changed");
    expect(r).toEqual({ ok: true, changed: true });
    expect(calls).toEqual(["install deny=1"]);
    expect(forgotten).toEqual(["198.51.100.11"]);
    expect(table.nameCount).toBe(1);
    expect(live.decide("other.example.com")).toMatchObject({ action: "deny", layer: "deny.always" });
    expect(events.map((e) => e.event)).toEqual(["always.applied"]);
    expect(events[0]!.fields).toMatchObject({ why: "deny.always changed", deny: 1, allow: 0, logSkip: 0 });
    // the same lists again: nothing installed
    expect(await applyAlways(ctx, lists("other.example.com"), "again")).toEqual({ ok: true, changed: false });
    expect(calls).toHaveLength(1);
  });
});

describe("readAlwaysRules: the files as serve and apply read them", () => {
  test("missing files have no effect; bytes that are not UTF-8 spoil only their lines; a file that cannot be read is an error", async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { readAlwaysRules } = await import("../../../src/effects/fs/always-files.ts");
    const dir = mkdtempSync(join(tmpdir(), "egressctl-always-"));
    try {
      const none = readAlwaysRules(join(dir, "absent"));
      expect(none.ok && [none.rules.deny.present, none.rules.allow.rules.length]).toEqual([false, 0]);
      writeFileSync(join(dir, "deny.always"), Buffer.concat([Buffer.from("evil.example.com\nbad\xff"), Buffer.from([0xff, 0xfe]), Buffer.from("\nother.example.com\n")]));
      const r = readAlwaysRules(dir);
      expect(r.ok && r.rules.deny.rules.map((x) => x.target)).toEqual(["evil.example.com", "other.example.com"]);
      expect(r.ok && r.rules.deny.problems.map((p) => p.line)).toEqual([2]);
      mkdirSync(join(dir, "allow.always"));
      const bad = readAlwaysRules(dir);
      expect(bad.ok).toBe(false);
      expect(!bad.ok && bad.errors).toEqual([{ list: "allow", path: join(dir, "allow.always"), error: "is a directory; give the policy files inside it" }]);
      expect(!bad.ok && bad.partial.deny?.rules.length).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
