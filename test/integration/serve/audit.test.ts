// serve --audit (docs/serve.md, "Modes at run time": every decision and log is kept but
// traffic goes through): a name the policy denies resolves and connects, and is still reported as
// dns.denied (audit: true) in the log and /violations; its addresses are not learned, so
// leaving audit mode closes them. Allowed names work as always, and so does doctor.
import { expect, test } from "bun:test";
import { LAB, Lab } from "../../support/lab.ts";
import { args, BIN, curl, dig, learned, policyText, serve, status, useLab, writePolicy } from "./helpers-serve.ts";

let lab: Lab;
let policy: string;

useLab((l) => {
  lab = l;
  policy = writePolicy(lab, policyText(["api.example.com"]));
});

test("--audit: denied names resolve and connect, and are reported, not learned", async () => {
  const s = await serve(lab, args(policy, LAB.dnsV4, ["--audit"]));
  const st = await status(s);
  expect(st).toMatchObject({ audit: true, measuredLevel: "dns+nftables" });

  const d = await dig(lab, "evil.example.com");
  expect(d).toMatchObject({ rcode: "NOERROR", addresses: ["198.51.100.66"] });
  expect(await curl(lab, "evil.example.com")).toBe(0);
  const ev = await s.waitEvent((e) => e.event === "dns.denied");
  expect(ev).toMatchObject({ name: "evil.example.com", qtype: "A", rule: "default deny", audit: true });
  const v = JSON.parse((await s.get("/violations")).body);
  expect(v[0]).toMatchObject({ event: "dns.denied", name: "evil.example.com", audit: true });
  expect(await learned(lab)).not.toContain("198.51.100.66");

  // allowed names are learned as always
  expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
  expect(await learned(lab)).toContain("198.51.100.10");
  expect((await status(s)).dns).toMatchObject({ servfail: 0, learnFailures: 0 });

  // egressctl's own probe names are still answered by the proxy, so doctor (and the
  // self-test) can tell the redirect holds; doctor warns about audit, nothing FAILs
  const probe = await dig(lab, "doctor-check.egressctl.invalid");
  expect(probe.rcode).toBe("NXDOMAIN");
  const doc = await lab.exec("sandbox", [BIN, "doctor", "--socket", s.socket, "--json"]);
  const report = JSON.parse(doc.stdout);
  expect(report.findings.filter((f: { status: string }) => f.status === "fail")).toEqual([]);
  expect(report.findings.find((f: { check: string }) => f.check === "dns.intercepted")).toMatchObject({ status: "ok" });
  expect(report.findings.find((f: { check: string }) => f.check === "mode.audit")).toMatchObject({ status: "warn" });
  expect(doc.code).toBe(0);
  expect(await s.stop("SIGTERM")).toBe(0);
});
