// In-cluster services under the address guard. A name the operator lists exactly in
// allow.always is the operator's trust: its answer may open a non-public address (a
// collector's ClusterIP). The same name from the user's policy stays guarded, and so does
// a name an allow.always wildcard allows. The lab's non-public address is the sandbox's
// own gateway (192.0.2.1, where the world answers HTTP: what the guard keeps closed is
// real), answered for gw.example.com.
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LAB, type Lab } from "../../support/lab.ts";
import { adversarialZones } from "../../support/zones.ts";
import { connectAs, digAs } from "../adversarial/support.ts";
import { args, BIN, learned, policyText, serve, useLab, writePolicy } from "./helpers-serve.ts";

let lab: Lab;
useLab(
  (l) => {
    lab = l;
  },
  { zones: adversarialZones() },
);

const GATEWAY = "192.0.2.1";

function rulesDir(name: string, allowAlways: string): string {
  const dir = join(lab.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "allow.always"), allowAlways);
  return dir;
}

async function doctorNote(socket: string, name: string, policy?: string): Promise<string> {
  const r = await lab.exec("sandbox", [BIN, "doctor", "--socket", socket, "--json", ...(policy ? ["--policy", policy] : []), name]);
  return (JSON.parse(r.stdout).explanations[0].notes as string[]).join(" | ");
}

test("allow.always lists the name exactly: its private answer is learned and the application connects", async () => {
  const dir = rulesDir("exact", "# the operator's in-cluster service\ngw.example.com\n");
  const s = await serve(lab, args(writePolicy(lab, policyText([])), LAB.dnsV4, ["--always-rules-dir", dir]));
  const d = await digAs(lab, "nobody", "gw.example.com");
  expect(d.answers).toEqual([`A ${GATEWAY}`]);
  expect(await learned(lab)).toEqual([GATEWAY]);
  expect(await connectAs(lab, "nobody", GATEWAY)).toMatchObject({ result: "ok" });
  expect(s.events.filter((e) => e.event === "dns.guarded")).toEqual([]);
  expect(await doctorNote(s.socket, "gw.example.com")).toContain("trusted: allow.always lists gw.example.com exactly");
});

test("the same name from the user's policy: the answer reaches the application unlearned, the connection is refused", async () => {
  const policy = writePolicy(lab, policyText(["gw.example.com"]));
  const s = await serve(lab, args(policy, LAB.dnsV4, ["--always-rules-dir", rulesDir("none", "")]));
  const d = await digAs(lab, "nobody", "gw.example.com");
  expect(d.answers).toEqual([`A ${GATEWAY}`]);
  const ev = await s.waitEvent((e) => e.event === "dns.guarded" && e.name === "gw.example.com");
  expect(ev.addresses).toEqual([{ address: GATEWAY, reason: expect.stringMatching(/this namespace's own gateway/) }]);
  expect(await learned(lab)).toEqual([]);
  expect((await connectAs(lab, "nobody", GATEWAY)).result).toBe("refused");
  expect(await doctorNote(s.socket, "gw.example.com", policy)).toContain("guarded: the policy allows it; its answers open public addresses only");
  // without the policy file doctor cannot name the rule, but says the name is not trusted
  expect(await doctorNote(s.socket, "gw.example.com")).toContain("guarded: a name the user's policy allows is not trusted");
});

test("an allow.always wildcard allows the name but is not trusted: the private answer stays closed", async () => {
  const dir = rulesDir("wildcard", "*.example.com\n");
  const s = await serve(lab, args(writePolicy(lab, policyText([])), LAB.dnsV4, ["--always-rules-dir", dir]));
  const d = await digAs(lab, "nobody", "gw.example.com");
  expect(d.answers).toEqual([`A ${GATEWAY}`]);
  await s.waitEvent((e) => e.event === "dns.guarded" && e.name === "gw.example.com");
  expect(await learned(lab)).toEqual([]);
  expect((await connectAs(lab, "nobody", GATEWAY)).result).toBe("refused");
  expect(await doctorNote(s.socket, "gw.example.com")).toContain("through the wildcard *.example.com, which is not trusted");
});
