// The operator's always lists (deny.always, allow.always, log_skip.always) with a real
// serve in a lab: what the application sees (kdig, curl), what the kernel holds, and
// what /status, doctor and the log say. Changes to the files are waited for by their log
// event, never by sleeping.
import { describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Lab } from "../../support/lab.ts";
import type { Served } from "../../support/serve.ts";
import { args, BIN, curl, dig, learned, policyText, replaceFile, serve, serveExit, status, useLab, writePolicy } from "./helpers-serve.ts";

let lab: Lab;
useLab((l) => {
  lab = l;
});

let n = 0;
/** a fresh always-rules directory with the given files (a file set to null is not written) */
function rulesDir(files: { deny?: string; allow?: string; logSkip?: string } = {}): string {
  const dir = join(lab.dir, `always-${++n}`);
  mkdirSync(dir, { recursive: true });
  if (files.deny !== undefined) writeFileSync(join(dir, "deny.always"), files.deny);
  if (files.allow !== undefined) writeFileSync(join(dir, "allow.always"), files.allow);
  if (files.logSkip !== undefined) writeFileSync(join(dir, "log_skip.always"), files.logSkip);
  return dir;
}

const withDir = (dir: string, env: Record<string, string> = {}) => ({ env: { EGRESSCTL_ALWAYS_RULES_DIR: dir, ...env } });
const appliedAlways = (s: Served, since: number) => s.waitEvent((e) => e.event === "always.applied" && s.events.indexOf(e) >= since, 15_000);

async function setMembers(set: string): Promise<string> {
  const r = await lab.exec("sandbox", ["nft", "list", "set", "inet", "egressctl", set]);
  return r.stdout;
}

describe("names", () => {
  test("a deny.always name is NXDOMAIN although the policy allows it; the EDE, the log and /violations name the list and line", async () => {
    const dir = rulesDir({ deny: "# platform\nother.example.com\n" });
    const s = await serve(lab, args(writePolicy(lab, policyText(["api.example.com", "other.example.com"]))), withDir(dir));
    expect(s.events.find((e) => e.event === "always")).toMatchObject({ dir, deny: 1, allow: 0, logSkip: 0 });
    const d = await lab.exec("sandbox", ["kdig", "+edns", "+timeout=4", "+retry=0", "@198.51.100.53", "other.example.com", "A"]);
    expect(d.stdout).toContain("status: NXDOMAIN");
    expect(d.stdout).toContain("EDE: 15 (Blocked): 'blocked by egressctl deny.always line 2 other.example.com'");
    expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
    const ev = await s.waitEvent((e) => e.event === "dns.denied" && e.name === "other.example.com");
    expect(ev).toMatchObject({ layer: "deny.always", rule: "deny.always line 2 other.example.com" });
    const st = await status(s);
    expect(st.always.deny).toMatchObject({ path: join(dir, "deny.always"), present: true, targets: ["other.example.com"], problems: [] });
    expect(st.always.decisions["deny.always"].denied).toBe(1);
    expect(st.always.decisions.policy.allowed).toBeGreaterThanOrEqual(1);
    const v = JSON.parse((await s.get("/violations")).body);
    expect(v[0]).toMatchObject({ name: "other.example.com", layer: "deny.always" });
  });

  test("an allow.always name resolves and connects under a deny-all policy; its resolution is logged with its layer", async () => {
    const dir = rulesDir({ allow: "plain.example.net\n*.pypi.example.com\n" });
    const s = await serve(lab, args(null), withDir(dir));
    expect((await status(s)).policy.mode).toBe("deny_all");
    expect((await dig(lab, "plain.example.net")).addresses).toEqual(["198.51.100.50"]);
    expect(await curl(lab, "plain.example.net")).toBe(0);
    expect((await dig(lab, "api.example.com")).rcode).toBe("NXDOMAIN");
    const ev = await s.waitEvent((e) => e.event === "dns.allowed" && e.name === "plain.example.net");
    expect(ev).toMatchObject({ layer: "allow.always", rule: "allow.always line 1 plain.example.net", addresses: ["198.51.100.50"], qtype: "A" });
    expect(await learned(lab)).toContain("198.51.100.50");
  });
});

describe("addresses in the kernel", () => {
  test("deny.always beats a policy allow CIDR; allow.always opens an address under deny-all, but not one a policy deny CIDR closes", async () => {
    const dir = rulesDir({ deny: "198.51.100.10\n2001:db8:100::10\n", allow: "203.0.113.5\n198.51.100.200\n" });
    const policy = JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "198.51.100.0/25" }, { action: "deny", target: "198.51.100.128/25" }] });
    await serve(lab, args(writePolicy(lab, policy)), withDir(dir));
    expect(await setMembers("always_deny4")).toContain("198.51.100.10");
    expect(await setMembers("always_deny6")).toContain("2001:db8:100::10");
    expect(await setMembers("always_allow4")).toMatch(/203\.0\.113\.5[^\d]/);
    expect(await curl(lab, "198.51.100.10")).toBe(7); // deny.always over the policy's allow
    expect(await curl(lab, "198.51.100.11")).toBe(0); // the policy's allow
    expect(await curl(lab, "203.0.113.5")).toBe(0); // allow.always over the default deny
    expect(await curl(lab, "203.0.113.6")).toBe(7);
    expect(await curl(lab, "198.51.100.200")).toBe(7); // the policy's deny CIDR beats allow.always (as OpenSandbox)
    const counters = (await lab.exec("sandbox", ["nft", "list", "counter", "inet", "egressctl", "denied_always"])).stdout;
    expect(counters).toMatch(/packets [1-9]/);
  });

  test("an answer inside deny.always is not learned (the rebinding guard covers the lists too)", async () => {
    const dir = rulesDir({ deny: "198.51.100.20\n" });
    await serve(lab, args(writePolicy(lab, policyText(["cdn.example.com"]))), withDir(dir));
    expect((await dig(lab, "cdn.example.com")).addresses).toEqual(["198.51.100.20"]);
    expect(await learned(lab)).not.toContain("198.51.100.20");
    expect(await curl(lab, "198.51.100.20")).toBe(7);
    // the name's IPv6 address is in no list: learned as usual
    expect((await dig(lab, "cdn.example.com", { type: "AAAA" })).addresses).toEqual(["2001:db8:100::20"]);
    expect(await learned(lab, "learned6")).toContain("2001:db8:100::20");
  });
});

describe("changes to the files", () => {
  test("applied within seconds (waiting for always.applied); a learned address still allowed survives, the newly denied one is pruned", async () => {
    const dir = rulesDir();
    const s = await serve(lab, args(writePolicy(lab, policyText(["api.example.com", "other.example.com"]))), withDir(dir));
    for (const name of ["api.example.com", "other.example.com"]) expect((await dig(lab, name)).rcode).toBe("NOERROR");
    expect(await learned(lab)).toEqual(expect.arrayContaining(["198.51.100.10", "198.51.100.11"]));
    const digest = (await status(s)).always.digest;

    let mark = s.events.length;
    replaceFile(join(dir, "deny.always"), "other.example.com\n");
    const ev = await appliedAlways(s, mark);
    expect(ev).toMatchObject({ deny: 1, allow: 0 });
    expect(ev.why).toContain("deny.always");
    expect((await dig(lab, "other.example.com")).rcode).toBe("NXDOMAIN");
    const l = await learned(lab);
    expect(l).toContain("198.51.100.10");
    expect(l).not.toContain("198.51.100.11");
    expect(await curl(lab, "198.51.100.10")).toBe(0); // the learned address still allowed: in force all along
    expect(await curl(lab, "198.51.100.11")).toBe(7);
    const st = await status(s);
    expect(st.always.digest).not.toBe(digest);
    expect(st.kernel.matches).toBe(true);
    expect(st.policy.source).toMatch(/^file:/); // the policy itself did not change

    // removed again: the name resolves again
    mark = s.events.length;
    rmSync(join(dir, "deny.always"));
    await appliedAlways(s, mark);
    expect((await dig(lab, "other.example.com")).addresses).toEqual(["198.51.100.11"]);
    expect(await curl(lab, "other.example.com")).toBe(0);
  });

  test("a kernel address rule added while running; a directory created after start is found by the poll", async () => {
    const dir = join(lab.dir, `always-late-${++n}`);
    const s = await serve(lab, args(null), withDir(dir));
    expect(await curl(lab, "203.0.113.7")).toBe(7);
    const mark = s.events.length;
    mkdirSync(dir);
    writeFileSync(join(dir, "allow.always"), "203.0.113.7\n");
    await appliedAlways(s, mark);
    expect(await setMembers("always_allow4")).toContain("203.0.113.7");
    expect(await curl(lab, "203.0.113.7")).toBe(0);
  });

  test("a bad line is a warning naming file:line; a bad deny line denies the host it names", async () => {
    const dir = rulesDir({ deny: "api.example.com\nhttps://other.example.com:8443/path\n", allow: "plain.example.net:443\n" });
    const s = await serve(lab, args(writePolicy(lab, policyText(["api.example.com", "other.example.com", "plain.example.net"]))), withDir(dir));
    const warnings = s.events.filter((e) => e.event === "always.warning");
    expect(warnings).toEqual([
      expect.objectContaining({ level: "warn", file: join(dir, "deny.always"), line: 2, readAs: "other.example.com" }),
      expect.objectContaining({ level: "warn", file: join(dir, "allow.always"), line: 1, text: "plain.example.net:443" }),
    ]);
    expect((await dig(lab, "other.example.com")).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "plain.example.net")).rcode).toBe("NOERROR"); // the policy's allow: the bad allow line is only skipped
    expect((await status(s)).always.deny.problems[0]).toMatchObject({ line: 2, readAs: "other.example.com" });
  });

  test("a list that exists but cannot be read stops the start (exit 1), as in OpenSandbox", async () => {
    const dir = rulesDir();
    mkdirSync(join(dir, "deny.always"));
    const r = await serveExit(lab, args(null), { EGRESSCTL_ALWAYS_RULES_DIR: dir });
    expect(r.code).toBe(1);
    expect(r.events.find((e) => e.event === "serve.refused")?.reason).toMatch(/deny\.always: is a directory/);
  });
});

describe("log_skip.always", () => {
  test("allowed resolutions of those names are not logged; others are; their denials are", async () => {
    const dir = rulesDir({ logSkip: "api.example.com\n*.example.org\n", deny: "cdn.example.org\n" });
    const s = await serve(lab, args(writePolicy(lab, policyText(["api.example.com", "other.example.com", "*.example.org"]))), withDir(dir));
    expect((await dig(lab, "api.example.com")).rcode).toBe("NOERROR");
    expect((await dig(lab, "cdn.example.org")).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "other.example.com")).rcode).toBe("NOERROR");
    await s.waitEvent((e) => e.event === "dns.allowed" && e.name === "other.example.com");
    await s.waitEvent((e) => e.event === "dns.denied" && e.name === "cdn.example.org");
    expect(s.events.filter((e) => e.event === "dns.allowed").map((e) => e.name)).toEqual(["other.example.com"]);
    expect((await status(s)).always.decisions.policy.allowed).toBe(2);
  });
});

describe("with the policy API and apply", () => {
  test("GET /policy shows the user's policy, not the merged one; a POST keeps the lists in force", async () => {
    const dir = rulesDir({ deny: "other.example.com\n", allow: "plain.example.net\n" });
    const s = await serve(lab, args(null), withDir(dir, { OPENSANDBOX_EGRESS_TOKEN: "t", OPENSANDBOX_EGRESS_RULES: policyText(["api.example.com"]) }));
    const get = await lab.exec("sandbox", ["curl", "-sS", "-H", "OPENSANDBOX-EGRESS-AUTH: t", "http://127.0.0.1:18080/policy"]);
    expect(JSON.parse(get.stdout).policy).toEqual({ defaultAction: "deny", egress: [{ action: "allow", target: "api.example.com" }] });
    const post = await lab.exec("sandbox", ["curl", "-sS", "-X", "POST", "-H", "OPENSANDBOX-EGRESS-AUTH: t", "-d", policyText(["other.example.com"]), "http://127.0.0.1:18080/policy"]);
    expect(JSON.parse(post.stdout).policy.egress).toEqual([{ action: "allow", target: "other.example.com" }]);
    await s.waitEvent((e) => e.event === "policy.applied" && e.why === "api");
    expect((await dig(lab, "other.example.com")).rcode).toBe("NXDOMAIN"); // deny.always still above
    expect((await dig(lab, "plain.example.net")).rcode).toBe("NOERROR");
  });

  test("apply renders and loads the same lists; doctor names the list that decided", async () => {
    const dir = rulesDir({ deny: "203.0.113.9\n", allow: "203.0.113.10\n" });
    const policy = writePolicy(lab, policyText(["api.example.com"]));
    const env = { env: { EGRESSCTL_ALWAYS_RULES_DIR: dir, EGRESSCTL_ASSUME_SANDBOX: "1", OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "203.0.113.143" } };
    const dry = await lab.exec("sandbox", [BIN, "apply", policy, "--dry-run"], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("add element inet egressctl always_deny4 { 203.0.113.9 }");
    expect(dry.stdout).toContain("add element inet egressctl always_allow4 { 203.0.113.10 }");
    // applied for real: the kernel enforces the lists without serve
    const real = await lab.exec("sandbox", [BIN, "apply", policy], env);
    expect(real.code).toBe(0);
    expect(await setMembers("always_deny4")).toContain("203.0.113.9");
    expect(await curl(lab, "203.0.113.9")).toBe(7);
    expect(await curl(lab, "203.0.113.10")).toBe(0);
    // a bad line: a warning naming file:line on stderr, the rest applied
    writeFileSync(join(dir, "allow.always"), "203.0.113.10\nmirror.example.com:443\n");
    const warned = await lab.exec("sandbox", [BIN, "apply", policy, "--dry-run"], env);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain(`${join(dir, "allow.always")}:2: warning: target "mirror.example.com:443" has a port`);
    // serve renders the same text for the same environment: the kernel holds what apply printed
    const s = await serve(lab, args(policy), withDir(dir));
    expect(await setMembers("always_deny4")).toContain("203.0.113.9");
    expect(await curl(lab, "203.0.113.10")).toBe(0);
    expect(await curl(lab, "203.0.113.9")).toBe(7);
    const doc = await lab.exec("sandbox", [BIN, "doctor", "--socket", s.socket, "--json", "203.0.113.9", "203.0.113.10"]);
    const r = JSON.parse(doc.stdout);
    expect(r.explanations.map((e: any) => [e.verdict, e.basis])).toEqual([["deny", "deny.always"], ["allow", "allow.always"]]);
    expect(r.findings.find((f: any) => f.check === "always.lists").message).toContain("deny.always 1, allow.always 1, log_skip.always absent");
    // the same policy loaded behind serve's back without the lists: the kernel no longer matches
    expect((await status(s)).kernel.matches).toBe(true);
    const bare = await lab.exec("sandbox", [BIN, "apply", policy], { env: { ...env.env, EGRESSCTL_ALWAYS_RULES_DIR: join(lab.dir, "no-such-dir") } });
    expect(bare.code).toBe(0);
    expect((await status(s)).kernel.matches).toBe(false);
  });
});
