// Attack: open an internal address through an allowed name. Under a name the policy
// allows (here a wildcard, where anyone who can add records chooses the answer), the
// application gets answers naming cloud metadata, RFC 1918, ULA, their IPv6 embeddings,
// and the sandbox's own gateway and address. Before, each was learned and opened on every
// port. Now the answer still reaches the application, unlearned, so its connection is
// refused at once, and dns.guarded says why. Only an explicit allow rule for the address
// opens it, or EGRESSCTL_PRIVATE_ANSWERS=learn; an address the namespace gets later
// counts too.
import { expect, test } from "bun:test";
import { IDENTITIES } from "../../support/attacker.ts";
import { LAB, type Lab, waitFor } from "../../support/lab.ts";
import { adversarialZones } from "../../support/zones.ts";
import { args, BIN, learned, replaceFile, serve, serveExit, status, useLab, writePolicy } from "../serve/helpers-serve.ts";
import { connectAs, digAs } from "./support.ts";

let lab: Lab;
let wildcard: string;
let allowGateway: string;

useLab(
  (l) => {
    lab = l;
    wildcard = writePolicy(lab, JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "*.example.com" }] }));
    allowGateway = writePolicy(lab, JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "*.example.com" }, { action: "allow", target: "192.0.2.1/32" }] }));
  },
  { zones: adversarialZones() },
);

/** name, type, address answered, why it is not public */
const CASES: [string, "A" | "AAAA", string, RegExp][] = [
  ["meta.example.com", "A", "169.254.169.254", /link-local/],
  ["internal.example.com", "A", "10.0.0.1", /private/],
  ["ula.example.com", "AAAA", "fd00::1", /unique local/],
  ["mapped.example.com", "AAAA", "::ffff:10.0.0.1", /IPv4-mapped form of 10\.0\.0\.1: private/],
  ["nat64.example.com", "AAAA", "64:ff9b::a9fe:a9fe", /NAT64 .* form of 169\.254\.169\.254/],
  ["gw.example.com", "A", "192.0.2.1", /this namespace's own gateway/],
  ["gw6.example.com", "AAAA", "2001:db8:1::1", /this namespace's own gateway/],
  ["self.example.com", "A", "192.0.2.2", /this namespace's own address/],
];

for (const who of IDENTITIES) {
  test(`${who}: non-public answers reach the application unlearned; connecting is refused at once; dns.guarded says why`, async () => {
    const s = await serve(lab, args(wildcard, LAB.dnsV4));
    for (const [name, type, address, why] of CASES) {
      const d = await digAs(lab, who, name, type);
      expect(d.rcode).toBe("NOERROR");
      expect(d.answers).toEqual([`${type} ${address}`]);
      const ev = await s.waitEvent((e) => e.event === "dns.guarded" && e.name === name);
      expect(ev.addresses).toEqual([{ address, reason: expect.stringMatching(why) }]);
      const c = await connectAs(lab, who, address);
      expect({ name, result: c.result }).toEqual({ name, result: "refused" });
    }
    expect(await learned(lab)).toEqual([]);
    expect(await learned(lab, "learned6")).toEqual([]);
    // the gateway answers HTTP in the lab world: what the guard keeps closed is real
    const st = await status(s);
    expect(st.dns.guarded).toBe(CASES.length);
    expect(st.guard).toMatchObject({ privateAnswers: "guard" });
    expect(st.guard.local).toEqual(expect.arrayContaining(["192.0.2.2: address", expect.stringMatching(/^192\.0\.2\.1: gateway via /), expect.stringMatching(/^2001:db8:1::1: gateway via /)]));
    expect((await s.get("/metrics")).body).toMatch(new RegExp(`^egressctl_dns_guarded_total ${CASES.length}$`, "m"));
    // doctor says why, for the name and for the address
    const doc = await lab.exec("sandbox", [BIN, "doctor", "--socket", s.socket, "--json", "meta.example.com", "169.254.169.254", "192.0.2.1"]);
    const [name, meta, gw] = JSON.parse(doc.stdout).explanations;
    expect(name.notes.join(" ")).toContain("guarded: non-public answer: 169.254.169.254 (link-local");
    expect(meta).toMatchObject({ verdict: "deny", guarded: expect.stringContaining("link-local") });
    expect(meta.reason).toContain("no answer opens it (guarded: non-public answer)");
    expect(gw.guarded).toMatch(/^this namespace's own gateway via /);
  });

  test(`${who}: an answer mixing public and private addresses: only the public one opens`, async () => {
    const s = await serve(lab, args(wildcard, LAB.dnsV4));
    const d = await digAs(lab, who, "mixed.example.com");
    expect(d.answers.sort()).toEqual(["A 10.0.0.2", "A 198.51.100.72"]);
    await s.waitEvent((e) => e.event === "dns.guarded" && e.name === "mixed.example.com");
    expect(await learned(lab)).toEqual(["198.51.100.72"]);
    expect(await connectAs(lab, who, "198.51.100.72")).toMatchObject({ result: "ok", body: "ok 198.51.100.72 80" });
    expect((await connectAs(lab, who, "10.0.0.2")).result).toBe("refused");
  });
}

test("an explicit allow rule for the address opens it (and it is learned, not guarded)", async () => {
  const s = await serve(lab, args(allowGateway, LAB.dnsV4));
  expect((await digAs(lab, "nobody", "gw.example.com")).answers).toEqual(["A 192.0.2.1"]);
  await waitFor("learned", async () => (await learned(lab)).includes("192.0.2.1"));
  expect(await connectAs(lab, "nobody", "192.0.2.1")).toMatchObject({ result: "ok", body: "ok 192.0.2.1 80" });
  // the other private answers stay guarded
  await digAs(lab, "nobody", "internal.example.com");
  await s.waitEvent((e) => e.event === "dns.guarded" && e.name === "internal.example.com");
  expect(s.events.filter((e) => e.event === "dns.guarded" && e.name === "gw.example.com")).toEqual([]);
});

test("a reload that takes the allow rule away closes what it had opened", async () => {
  const file = writePolicy(lab, JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "*.example.com" }, { action: "allow", target: "192.0.2.1/32" }] }));
  const s = await serve(lab, args(file, LAB.dnsV4));
  await digAs(lab, "root-nocap", "gw.example.com");
  await waitFor("learned", async () => (await learned(lab)).includes("192.0.2.1"));
  replaceFile(file, JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "*.example.com" }] }));
  await s.waitEvent((e) => e.event === "policy.applied" && e.why !== undefined);
  await waitFor("removed from learned4", async () => !(await learned(lab)).includes("192.0.2.1"));
  expect((await connectAs(lab, "root-nocap", "192.0.2.1")).result).toBe("refused");
});

test("EGRESSCTL_PRIVATE_ANSWERS=learn learns them (the documented risk); anything else is a usage error", async () => {
  const s = await serve(lab, args(wildcard, LAB.dnsV4), { env: { EGRESSCTL_PRIVATE_ANSWERS: "learn" } });
  expect((await status(s)).guard.privateAnswers).toBe("learn");
  await digAs(lab, "nobody", "gw.example.com");
  await digAs(lab, "nobody", "internal.example.com");
  expect((await learned(lab)).sort()).toEqual(["10.0.0.1", "192.0.2.1"]);
  expect(await connectAs(lab, "nobody", "192.0.2.1")).toMatchObject({ result: "ok" });
  expect(s.events.filter((e) => e.event === "dns.guarded")).toEqual([]);
  const bad = await serveExit(lab, args(wildcard, LAB.dnsV4), { EGRESSCTL_PRIVATE_ANSWERS: "yes" });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("EGRESSCTL_PRIVATE_ANSWERS must be guard or learn, got 'yes'");
});

test("an address the namespace gets later counts too: it is removed from the learned set and guarded from then on", async () => {
  const s = await serve(lab, args(wildcard, LAB.dnsV4));
  expect((await digAs(lab, "nobody", "later.example.com")).answers).toEqual(["A 192.0.2.77"]);
  await waitFor("learned", async () => (await learned(lab)).includes("192.0.2.77"));
  const dev = (await lab.exec("sandbox", ["ip", "-o", "link", "show", "type", "veth"])).stdout.split(":")[1]!.trim().split("@")[0]!;
  const add = await lab.exec("sandbox", ["ip", "addr", "add", "192.0.2.77/32", "dev", dev]);
  expect(add.stderr).toBe("");
  try {
    const ev = await s.waitEvent((e) => e.event === "guard.local" && e.addresses.some((a: string) => a.startsWith("192.0.2.77:")));
    expect(ev.addresses).toContain("192.0.2.77: address");
    await waitFor("removed from learned4", async () => !(await learned(lab)).includes("192.0.2.77"));
    await digAs(lab, "root-nocap", "later.example.com");
    const g = await s.waitEvent((e) => e.event === "dns.guarded" && e.name === "later.example.com");
    expect(g.addresses[0].reason).toMatch(/this namespace's own address/);
    expect(await learned(lab)).not.toContain("192.0.2.77");
  } finally {
    await lab.exec("sandbox", ["ip", "addr", "del", "192.0.2.77/32", "dev", dev]);
  }
});
