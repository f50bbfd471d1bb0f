// Policy reload of a running `egressctl serve`: a file replaced by rename, SIGHUP, garbage,
// and a change the kernel rejects. Seen from the application's side (kdig, curl, getent)
// and in the kernel (nft -j) of the lab's sandbox namespace.
import { describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Lab } from "../../support/lab.ts";
import type { Served } from "../../support/serve.ts";
import { args, curl, dig, getent, kernelDigest, learned, loadLoop, policyText, replaceFile, serve, startStub, status, table, useLab, waitUntil, writePolicy } from "./helpers-serve.ts";

let lab: Lab;
useLab((l) => {
  lab = l;
});

/** cdn.example.com and cdn.example.org share 198.51.100.20 */
const BEFORE = ["api.example.com", "other.example.com", "cdn.example.com", "cdn.example.org"];
const AFTER = ["api.example.com", "cdn.example.com", "plain.example.net"];

const applied = (s: Served) => s.events.filter((e) => e.event === "policy.applied");
const rejected = (s: Served) => s.events.filter((e) => e.event === "policy.reload.rejected");

/** egressctl's chains with their rules, handles left out: "the ruleset" (a test's own intruder chain left out) */
async function rules(l: Lab): Promise<string> {
  const t = (await table(l)) ?? [];
  const ours = (o: Record<string, any>) => (o.chain?.name ?? o.rule?.chain) !== "intruder";
  return JSON.stringify(t.filter((o) => (o.chain || o.rule) && ours(o)).map((o) => {
    const { handle: _h, ...rest } = o.chain ?? o.rule;
    return rest;
  }));
}

/** Starts serve on the BEFORE policy and resolves every allowed name once (learning them). */
async function learnBefore(path: string): Promise<Served> {
  writeFileSync(path, policyText(BEFORE));
  const s = await serve(lab, args(path));
  for (const n of BEFORE) expect((await dig(lab, n)).rcode).toBe("NOERROR");
  expect(await learned(lab)).toEqual(expect.arrayContaining(["198.51.100.10", "198.51.100.11", "198.51.100.20"]));
  expect((await dig(lab, "plain.example.net")).rcode).toBe("NXDOMAIN");
  return s;
}

describe("a changed policy file", () => {
  test("replaced by rename, under load: applied; newly denied and newly allowed names; learned addresses pruned, shared ones kept", async () => {
    const path = join(lab.dir, "renamed.json");
    const s = await learnBefore(path);
    const before = await status(s);
    const load = loadLoop(lab, ["api.example.com", "cdn.example.com"]);
    try {
      replaceFile(path, policyText(AFTER));
      const ev = await s.waitEvent((e) => e.event === "policy.applied" && e.why !== undefined);
      expect(ev.why).toContain("renamed.json");
      const after = await status(s);
      expect(after.policy.digest).not.toBe(before.policy.digest);
      expect(after.kernel).toMatchObject({ matches: true, digest: after.policy.digest });
      expect(await kernelDigest(lab)).toBe(after.policy.digest);
      expect(after.reloads).toMatchObject({ ok: 1, failed: 0 });

      // the application's view
      expect((await dig(lab, "other.example.com")).rcode).toBe("NXDOMAIN");
      expect((await dig(lab, "cdn.example.org")).rcode).toBe("NXDOMAIN");
      expect(await getent(lab, "plain.example.net")).toEqual(["198.51.100.50"]);
      expect(await curl(lab, "plain.example.net")).toBe(0);
      expect(await curl(lab, "api.example.com")).toBe(0);

      // the kernel's: other's address is gone, cdn's stays (cdn.example.com still holds it)
      const l = await learned(lab);
      expect(l).not.toContain("198.51.100.11");
      expect(l).toEqual(expect.arrayContaining(["198.51.100.10", "198.51.100.20", "198.51.100.50"]));
      expect(await curl(lab, "198.51.100.11")).toBe(7);
      expect(await curl(lab, "198.51.100.20")).toBe(0);
    } finally {
      await load.stop();
    }
    expect(s.proc.exitCode).toBeNull();
  });

  test("SIGHUP reloads a change the directory watch cannot see (the file is behind a symlink)", async () => {
    const real = join(lab.dir, "elsewhere");
    mkdirSync(real, { recursive: true });
    const target = join(real, "real.json");
    writeFileSync(target, policyText(["api.example.com"]));
    const link = join(lab.dir, "linked.json");
    symlinkSync(target, link);
    const s = await serve(lab, args(link));
    expect((await dig(lab, "other.example.com")).rcode).toBe("NXDOMAIN");
    const digest = (await status(s)).policy.digest;

    writeFileSync(target, policyText(["api.example.com", "other.example.com"]));
    // (inotify on the link's directory reports nothing for a write in another directory)
    s.proc.kill("SIGHUP");
    const ev = await s.waitEvent((e) => e.event === "policy.applied" && e.why === "SIGHUP");
    expect(ev.digest).not.toBe(digest);
    // the SIGHUP's reload is the one that applied the change
    expect(applied(s).filter((e) => e.why).map((e) => e.why)).toEqual(["SIGHUP"]);
    expect((await dig(lab, "other.example.com")).addresses).toEqual(["198.51.100.11"]);
    expect(await curl(lab, "other.example.com")).toBe(0);
    expect(await kernelDigest(lab)).toBe(ev.digest);
  });

  test("dns-only through iptables: a reload changes what the proxy answers", async () => {
    const path = join(lab.dir, "iptables.json");
    writeFileSync(path, policyText(["api.example.com"]));
    const s = await serve(lab, args(path, undefined, ["--cleanup-on-exit"]), { env: { EGRESSCTL_NFT_BACKEND: "none" } });
    expect((await status(s)).mode).toBe("dns-only");
    expect((await dig(lab, "other.example.com")).rcode).toBe("NXDOMAIN");
    replaceFile(path, policyText(["other.example.com"]));
    await s.waitEvent((e) => e.event === "policy.applied" && e.why !== undefined);
    expect((await dig(lab, "other.example.com")).addresses).toEqual(["198.51.100.11"]);
    expect((await dig(lab, "api.example.com")).rcode).toBe("NXDOMAIN");
    const nat = (await lab.exec("sandbox", ["iptables", "-t", "nat", "-S"])).stdout;
    expect(nat.match(/-A OUTPUT -j EGRESSCTL-DNS/g)).toHaveLength(1);
    expect(await table(lab)).toBeNull();
    expect(await s.stop()).toBe(0);
  });

  test("SIGHUP with a policy that came from OPENSANDBOX_EGRESS_RULES: no file to read, said so; the same policy is re-installed", async () => {
    const s = await serve(lab, args(null), { env: { OPENSANDBOX_EGRESS_RULES: policyText(["api.example.com"]) } });
    const digest = await kernelDigest(lab);
    s.proc.kill("SIGHUP");
    const ev = await s.waitEvent((e) => e.event === "policy.reload.skipped");
    expect(ev.why).toBe("SIGHUP");
    await s.waitEvent((e) => e.event === "policy.reinstalled" && e.digest === digest);
    expect(await kernelDigest(lab)).toBe(digest);
    expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
  });
});

describe("a reload racing an answer in flight", () => {
  // An answer to a name that was allowed when the query arrived, but is denied by the
  // time the upstream answers, must not be learned: the reload's prune already ran.
  test("an answer that arrives after a reload denied its name is not learned", async () => {
    const stub = await startStub(lab, { listen: "198.51.100.61", forward: "198.51.100.53", delayMs: 2000 });
    const path = join(lab.dir, "race.json");
    writeFileSync(path, policyText(["api.example.com", "other.example.com"]));
    const s = await serve(lab, args(path, "198.51.100.61"), { env: { OPENSANDBOX_EGRESS_DNS_UPSTREAM_TIMEOUT: "5" } });
    const inFlight = dig(lab, "other.example.com", { timeout: 8 });
    // in flight: the upstream has the query, and holds its answer for 2 s
    await waitUntil("the upstream got the query", () => stub.queries.includes("other.example.com"));
    replaceFile(path, policyText(["api.example.com"]));
    await s.waitEvent((e) => e.event === "policy.applied" && e.why !== undefined);
    await inFlight;
    expect(await learned(lab)).not.toContain("198.51.100.11");
    expect(await curl(lab, "198.51.100.11")).toBe(7);
  });
});

describe("a reload that must not land", () => {
  test("the file replaced by garbage: the old policy stays, in memory and in the kernel", async () => {
    const path = join(lab.dir, "garbage.json");
    const s = await learnBefore(path);
    const digest = await kernelDigest(lab);
    const ruleset = await rules(lab);
    const learnedBefore = (await learned(lab)).sort();

    replaceFile(path, "egress: [ {{{ this is not a policy\n\u0000\u0001");
    const ev = await s.waitEvent((e) => e.event === "policy.reload.rejected");
    expect(ev.level).toBe("error");
    expect(ev.kept).toBe(digest);
    expect(Array.isArray(ev.problems) && ev.problems.length > 0).toBe(true);

    expect(await kernelDigest(lab)).toBe(digest);
    expect(await rules(lab)).toBe(ruleset);
    expect((await learned(lab)).sort()).toEqual(learnedBefore);
    const st = await status(s);
    expect(st.policy.digest).toBe(digest);
    expect(st.reloads).toMatchObject({ ok: 0, failed: 1 });
    // answered as before
    expect((await dig(lab, "other.example.com")).addresses).toEqual(["198.51.100.11"]);
    expect((await dig(lab, "plain.example.net")).rcode).toBe("NXDOMAIN");
    expect(await curl(lab, "other.example.com")).toBe(0);

    // a valid file afterwards is applied
    replaceFile(path, policyText(AFTER));
    await s.waitEvent((e) => e.event === "policy.applied" && e.why !== undefined);
    expect((await dig(lab, "plain.example.net")).addresses).toEqual(["198.51.100.50"]);
  });

  test("a policy with an invalid rule (every problem listed): rejected, the old one stays", async () => {
    const path = join(lab.dir, "invalid.json");
    const s = await learnBefore(path);
    const digest = await kernelDigest(lab);
    replaceFile(path, JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "http://x.example.com/" }, { action: "maybe", target: "plain.example.net" }] }));
    const ev = await s.waitEvent((e) => e.event === "policy.reload.rejected");
    expect(ev.problems.length).toBeGreaterThanOrEqual(2);
    expect(await kernelDigest(lab)).toBe(digest);
    expect((await dig(lab, "plain.example.net")).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "other.example.com")).rcode).toBe("NOERROR");
  });

  test("the file deleted: rejected (cannot read it), the old policy stays", async () => {
    const path = join(lab.dir, "deleted.json");
    const s = await learnBefore(path);
    const digest = await kernelDigest(lab);
    rmSync(path);
    const ev = await s.waitEvent((e) => e.event === "policy.reload.rejected");
    expect(ev.error).toMatch(/cannot read/);
    expect(await kernelDigest(lab)).toBe(digest);
    expect((await dig(lab, "other.example.com")).addresses).toEqual(["198.51.100.11"]);
    expect(await learned(lab)).toContain("198.51.100.11");
  });

  test("require_full_isolation added while serve runs dns-only: rejected, the old policy stays", async () => {
    const path = join(lab.dir, "strict.json");
    writeFileSync(path, policyText(["api.example.com"]));
    const s = await serve(lab, args(path, undefined, ["--mode", "dns-only"]));
    const digest = (await status(s)).policy.digest;
    replaceFile(path, policyText(["api.example.com", "other.example.com"], { require_full_isolation: true }));
    const ev = await s.waitEvent((e) => e.event === "policy.reload.rejected");
    expect(ev.error).toMatch(/require_full_isolation/);
    expect((await status(s)).policy.digest).toBe(digest);
    expect((await dig(lab, "other.example.com")).rcode).toBe("NXDOMAIN");
  });

  test("the kernel rejects the new ruleset: the old one stays intact, and a later reload lands", async () => {
    // How to make the kernel refuse a valid ruleset honestly: an object outside egressctl's
    // control that references one of its chains. A reload re-creates the chains in one
    // transaction (delete, then add); deleting a chain that another rule jumps to is
    // refused by the kernel (EBUSY), so the whole transaction is aborted.
    const path = join(lab.dir, "kernel.json");
    const s = await learnBefore(path);
    const digest = await kernelDigest(lab);
    const ruleset = await rules(lab);
    const add = await lab.exec("sandbox", ["nft", "add chain inet egressctl intruder; add rule inet egressctl intruder jump deny"]);
    expect(add.code).toBe(0);

    replaceFile(path, policyText(AFTER));
    const ev = await s.waitEvent((e) => e.event === "policy.reload.rejected");
    expect(ev.error).toMatch(/kernel rejected/);
    expect(ev.kept).toBe(digest);

    // intact: same rules, same digest, same learned addresses; queries answered as before
    expect(await kernelDigest(lab)).toBe(digest);
    expect(await rules(lab)).toBe(ruleset);
    const st = await status(s);
    expect(st.policy.digest).toBe(digest);
    expect(st.reloads).toMatchObject({ ok: 0, failed: 1 });
    expect(await learned(lab)).toContain("198.51.100.11");
    expect((await dig(lab, "other.example.com")).addresses).toEqual(["198.51.100.11"]);
    expect((await dig(lab, "plain.example.net")).rcode).toBe("NXDOMAIN");
    expect(await curl(lab, "other.example.com")).toBe(0);
    expect(await curl(lab, "198.51.100.66")).toBe(7);

    // once the obstacle is gone, SIGHUP retries and the new policy lands
    expect((await lab.exec("sandbox", ["nft", "delete chain inet egressctl intruder"])).code).toBe(0);
    s.proc.kill("SIGHUP");
    const ok = await s.waitEvent((e) => e.event === "policy.applied" && e.why === "SIGHUP");
    expect(await kernelDigest(lab)).toBe(ok.digest);
    expect((await dig(lab, "plain.example.net")).addresses).toEqual(["198.51.100.50"]);
    expect((await dig(lab, "other.example.com")).rcode).toBe("NXDOMAIN");
    expect(await learned(lab)).not.toContain("198.51.100.11");
  });
});

// A restarted serve adopts the learned sets together with the name each address was
// learned under (the element's comment), so both its start and later reloads can remove
// the addresses of names the policy no longer allows.
describe("learned addresses a previous serve left behind", () => {
  test("a reload after a restart removes those of names the new policy denies", async () => {
    const path = join(lab.dir, "restart.json");
    const first = await learnBefore(path);
    await first.stop("SIGKILL");
    const second = await serve(lab, args(path));
    expect(await learned(lab)).toContain("198.51.100.11"); // adopted
    replaceFile(path, policyText(AFTER));
    await second.waitEvent((e) => e.event === "policy.applied" && e.why !== undefined);
    expect((await dig(lab, "other.example.com")).rcode).toBe("NXDOMAIN");
    // other.example.com is no longer allowed: its address must not stay reachable
    expect(await learned(lab)).not.toContain("198.51.100.11");
    expect(await curl(lab, "198.51.100.11")).toBe(7);
    expect(await learned(lab)).toEqual(expect.arrayContaining(["198.51.100.10", "198.51.100.20"]));
  });

  test("a restart with a changed policy removes those of names it denies, keeps the others", async () => {
    const path = join(lab.dir, "restart-changed.json");
    const first = await learnBefore(path);
    await first.stop("SIGKILL");
    writeFileSync(path, policyText(AFTER)); // changed while serve was down
    await serve(lab, args(path));
    expect(await learned(lab)).not.toContain("198.51.100.11");
    expect(await curl(lab, "198.51.100.11")).toBe(7);
    expect(await learned(lab)).toEqual(expect.arrayContaining(["198.51.100.10", "198.51.100.20"]));
    expect(await curl(lab, "198.51.100.10")).toBe(0);
  });
});
