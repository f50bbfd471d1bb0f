// apply and serve read one environment the same way (src/core/config/ruleset-settings.ts):
// for a rich environment (a DoH list, exempt nameservers, always lists, inbound-from,
// configured upstreams, a deny webhook at a literal address, a learned-set bound, drop
// silently) the table serve loads and the table `egressctl apply` loads are the same
// objects in the kernel, compared as `nft -j list table` (handles and counter values,
// which the kernel assigns, left out).
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LAB, type Lab } from "../../support/lab.ts";
import { BIN, dropTable, serve, useLab, writePolicy } from "../serve/helpers-serve.ts";
import { nft } from "./support.ts";

let lab!: Lab;
useLab((l) => void (lab = l));

/** the table without what the kernel numbers or counts by itself */
async function table(): Promise<unknown> {
  const r = await nft(lab, "-j", "list", "table", "inet", "egressctl");
  expect(r.code).toBe(0);
  return strip(JSON.parse(r.stdout).nftables.filter((o: object) => !("metainfo" in o)));
}

function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).filter(([k]) => !["handle", "expires", "packets", "bytes"].includes(k)).map(([k, x]) => [k, strip(x)]));
  }
  return v;
}

test("the same environment: serve and apply load the same table", async () => {
  const always = join(lab.dir, "same-always");
  mkdirSync(always, { recursive: true });
  writeFileSync(join(always, "deny.always"), "bad.example.com\n203.0.113.66\n");
  writeFileSync(join(always, "allow.always"), "pypi.example.com\n198.51.100.77/32\n");
  const env: Record<string, string> = {
    OPENSANDBOX_EGRESS_DNS_UPSTREAM: `${LAB.dnsV4},[${LAB.dnsV6}]:53`,
    OPENSANDBOX_EGRESS_DOH_BLOCKLIST: `${LAB.dohV4},${LAB.dohV6},203.0.113.200/30`,
    OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT: `${LAB.dns2V4},${LAB.dns2V6}`,
    OPENSANDBOX_EGRESS_DENY_WEBHOOK: "http://198.51.100.80:8080/denied",
    EGRESSCTL_INBOUND_FROM: "192.0.2.0/24,2001:db8:1::/64",
    EGRESSCTL_ALWAYS_RULES_DIR: always,
    EGRESSCTL_LEARN_MAX_ELEMENTS: "4096",
    EGRESSCTL_ASSUME_SANDBOX: "1",
    EGRESSCTL_QUIET: "1",
  };
  const policy = writePolicy(lab, JSON.stringify({
    defaultAction: "deny",
    egress: [
      { action: "allow", target: "api.example.com" },
      { action: "deny", target: "198.51.100.12" },
      { action: "allow", target: "198.51.100.0/28" },
    ],
  }));

  const s = await serve(lab, ["serve", policy, "--mode", "dns+nftables", "--drop-silently"], { env });
  const served = await table();
  expect(await s.stop("SIGTERM")).toBe(0); // the table stays in force
  await dropTable(lab);

  const r = await lab.exec("sandbox", [BIN, "apply", policy, "--mode", "dns+nftables", "--drop-silently"], { env });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const applied = await table();

  expect(applied).toEqual(served);
  // and the environment reached both: a few of its marks in the kernel
  const text = JSON.stringify(applied);
  for (const mark of ["203.0.113.200", LAB.dns2V4, "198.51.100.80", "203.0.113.66", "198.51.100.77", '"size":4096']) expect(text).toContain(mark);
}, 60_000);
