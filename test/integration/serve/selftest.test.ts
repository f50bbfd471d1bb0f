// The self-test publishes the level it measured, not the one serve intended: break the
// kernel state behind serve's back and watch the measured level fall, in the log, in
// /status and in /healthz's body; repair it with a reload and watch it come back.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Lab } from "../../support/lab.ts";
import { startKnot } from "../../support/knot.ts";
import { serveArgs, startServe, type Served } from "../../support/serve.ts";

let lab: Lab;
let served: Served;

beforeAll(async () => {
  lab = await Lab.create();
  await startKnot(lab);
  const p = lab.file("policy.yaml", "egress:\n  - { action: allow, target: api.example.com }\n");
  served = await startServe(lab, serveArgs(p, ["--selftest-interval", "1"]), { env: { OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "" } });
});
afterAll(async () => {
  await served?.stop();
  await lab.destroy();
});

const health = async () => (await served.get("/healthz")).body.trim();
const nft = (...args: string[]) => lab.exec("sandbox", ["nft", ...args]);

test("intact: measured dns+nftables", async () => {
  expect(await health()).toBe("ok dns+nftables");
  expect(JSON.parse((await served.get("/status")).body).measuredLevel).toBe("dns+nftables");
});

test("the filter chain unhooked: measured dns-only, with the finding", async () => {
  // replace the base chain by a regular chain of the same name: rules stay, hook is gone
  expect((await nft("delete", "chain", "inet", "egressctl", "output")).code).toBe(0);
  const ev = await served.waitEvent((e) => e.event === "selftest" && e.measured === "dns-only");
  expect(ev.level).toBe("error");
  expect(ev.findings.join(" ")).toMatch(/filter chain is not hooked/);
  expect(await health()).toBe("ok dns-only");
});

test("the DNS redirect gone too: measured disabled", async () => {
  expect((await nft("flush", "chain", "inet", "egressctl", "dns_redirect")).code).toBe(0);
  const ev = await served.waitEvent((e) => e.event === "selftest" && e.measured === "disabled");
  expect(ev.findings.join(" ")).toMatch(/did not reach the proxy/);
  expect(await health()).toBe("ok disabled");
  const st = JSON.parse((await served.get("/status")).body);
  expect(st.mode).toBe("dns+nftables"); // intended
  expect(st.measuredLevel).toBe("disabled"); // measured
});

test("a reload restores the ruleset and the measured level", async () => {
  served.events.length = 0;
  served.proc.kill("SIGHUP");
  // the policy file did not change, so the reload must still re-install (kernel drifted)
  await served.waitEvent((e) => e.event === "selftest" && e.measured === "dns+nftables");
  expect(await health()).toBe("ok dns+nftables");
});
