// Rendering details that goldens show but do not name: determinism, digests, the
// delete script, learned-element batches, element formatting, the DoH list override.
import { describe, expect, test } from "bun:test";
import { policyDigest } from "../../../src/core/ruleset/digest.ts";
import { dohList } from "../../../src/core/ruleset/doh.ts";
import { mergeCidrs, rangeText } from "../../../src/core/ruleset/elements.ts";
import { renderForget, renderLearn } from "../../../src/core/ruleset/learn.ts";
import { planRuleset } from "../../../src/core/ruleset/plan.ts";
import { parseHeader, renderDelete, renderRuleset } from "../../../src/core/ruleset/render.ts";
import { parseInboundFrom } from "../../../src/core/ruleset/inbound.ts";
import { REBUILT_SETS, type RebuiltSetName } from "../../../src/core/ruleset/names.ts";
import { env, policy } from "./env.ts";

const yaml = "defaultAction: deny\negress:\n  - {action: allow, target: API.GitHub.com.}\n  - {action: allow, target: 198.51.100.7/24}\n";
const json = '{"defaultAction":"deny","egress":[{"action":"allow","target":"api.github.com"},{"action":"allow","target":"198.51.100.0/24"}]}';

describe("render", () => {
  test("deterministic, digest in the header and the comments of the three base chains", () => {
    const p = policy(yaml);
    const a = renderRuleset(planRuleset(p, env()));
    expect(renderRuleset(planRuleset(policy(yaml), env()))).toBe(a);
    const d = policyDigest(p);
    expect(parseHeader(a)).toEqual({ policyDigest: d });
    expect(a.split(`comment "egressctl policy sha256:${d}"`).length).toBe(4);
  });

  test("the digest ignores spelling, not meaning", () => {
    expect(policyDigest(policy(json))).toBe(policyDigest(policy(yaml)));
    expect(policyDigest(policy(json.replace("deny", "allow")))).not.toBe(policyDigest(policy(json)));
  });

  test("every rebuilt set (names.ts REBUILT_SETS) is removed first; each set a plan creates is one of them, as listed", () => {
    const p = policy(yaml);
    const inbound = parseInboundFrom("198.51.100.0/24, 2001:db8::/32");
    if ("error" in inbound) throw new Error(inbound.error);
    for (const e of [env(), env({ mode: "dns-only" }), env({ inbound })]) {
      const plan = planRuleset(p, e);
      const lines = renderRuleset(plan).split("\n");
      const planned = new Set(plan.sets.map((s) => s.name));
      for (const s of plan.sets) expect(REBUILT_SETS[s.name as RebuiltSetName]).toEqual({ family: s.family, kind: s.kind, purpose: s.purpose });
      for (const name of Object.keys(REBUILT_SETS)) {
        const adds = lines.flatMap((l, i) => (l.startsWith(`add set inet egressctl ${name} {`) ? [i] : []));
        const del = lines.indexOf(`delete set inet egressctl ${name}`);
        // added (so the delete cannot fail), deleted, then created again only when planned
        expect(adds[0]).toBeLessThan(del);
        expect(adds.filter((i) => i > del).length).toBe(planned.has(name) ? 1 : 0);
      }
    }
  });

  test("delete adds before deleting, so an absent table is fine", () => {
    expect(renderDelete()).toBe("add table inet egressctl\ndelete table inet egressctl\n");
  });

  test("learn: one line per family, explicit timeouts; empty batch is empty text", () => {
    expect(renderLearn([])).toBe("");
    expect(renderLearn([
      { family: 6, address: "2001:db8::1", timeoutSec: 30.4 },
      { family: 4, address: "192.0.2.1", timeoutSec: 60 },
      { family: 4, address: "192.0.2.2", timeoutSec: 0 },
    ])).toBe(
      "add element inet egressctl learned4 { 192.0.2.1 timeout 60s, 192.0.2.2 timeout 1s }\n" +
        "add element inet egressctl learned6 { 2001:db8::1 timeout 30s }\n",
    );
  });

  test("forget: add (1 s) then delete, so an absent element does not fail the batch", () => {
    expect(renderForget([{ family: 4, address: "192.0.2.1" }])).toBe(
      "add element inet egressctl learned4 { 192.0.2.1 timeout 1s }\ndelete element inet egressctl learned4 { 192.0.2.1 }\n",
    );
  });

  test("elements: prefixes as CIDRs, hosts bare, other ranges first-last", () => {
    expect(rangeText(4, { start: 0xc0000200n, end: 0xc00002ffn })).toBe("192.0.2.0/24");
    expect(rangeText(4, { start: 0xc0000207n, end: 0xc0000207n })).toBe("192.0.2.7");
    expect(rangeText(4, { start: 0xc0000201n, end: 0xc0000206n })).toBe("192.0.2.1-192.0.2.6");
    expect(rangeText(6, { start: 0n, end: (1n << 128n) - 1n })).toBe("::/0");
    expect(mergeCidrs(["192.0.2.0/25", "192.0.2.128/25", "192.0.2.5"]).length).toBe(1);
  });

  test("DoH list: built-in by default, override replaces it, bad entries are reported", () => {
    expect(dohList(undefined).list[4]).toContain("1.1.1.1/32");
    expect(dohList("").list).toEqual({ 4: [], 6: [] });
    const r = dohList("203.0.113.143, 2001:db8:200::/64,nope");
    expect(r.list).toEqual({ 4: ["203.0.113.143/32"], 6: ["2001:db8:200::/64"] });
    expect(r.problems).toEqual(["DoH blocklist entry 'nope' is not an IP address or CIDR"]);
  });
});
