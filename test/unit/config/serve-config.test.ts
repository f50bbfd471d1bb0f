import { describe, expect, test } from "bun:test";
import { resolveServeConfig } from "../../../src/core/config/serve-config.ts";
import { envFlag } from "../../../src/core/config/env-flag.ts";
import { resolveApplyConfig } from "../../../src/core/config/apply-config.ts";
import { literalWebhook, type RulesetSettings } from "../../../src/core/config/ruleset-settings.ts";

const ok = (flags: Parameters<typeof resolveServeConfig>[0], env: Record<string, string> = {}) => {
  const r = resolveServeConfig(flags, env);
  if (!r.ok) throw new Error(r.error);
  return r.config;
};

describe("resolveServeConfig", () => {
  test("defaults", () => {
    const c = ok({});
    expect(c).toMatchObject({ mode: "auto", dnsPort: 15353, upstreamTimeoutMs: 2000, statusSocket: "/run/egressctl/egressctl.sock", audit: false, logFormat: "json", allowHostNetwork: false });
    expect(c.doh).toMatchObject({ stance: "listed", problems: [] });
    expect(c.doh.list[4].length).toBeGreaterThan(0); // the built-in DoH list
    expect(c.alwaysRulesDir).toBe("/var/egress/rules");
  });

  test("flags win over the OpenSandbox environment", () => {
    const env = { OPENSANDBOX_EGRESS_MODE: "dns", OPENSANDBOX_EGRESS_DNS_UPSTREAM: "192.0.2.1" };
    expect(ok({}, env)).toMatchObject({ mode: "dns", upstreamSpec: "192.0.2.1" });
    expect(ok({ mode: "dns+nftables", upstream: "192.0.2.2" }, env)).toMatchObject({ mode: "dns+nftables", upstreamSpec: "192.0.2.2" });
  });

  test("OpenSandbox variables keep their meaning", () => {
    const c = ok({}, {
      OPENSANDBOX_EGRESS_DNS_UPSTREAM_TIMEOUT: "0.5",
      OPENSANDBOX_EGRESS_BLOCK_DOH_443: "false",
      OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "",
      OPENSANDBOX_EGRESS_SANDBOX_ID: "sb-1",
      OPENSANDBOX_EGRESS_LOG_LEVEL: "debug",
      OPENSANDBOX_EGRESS_POLICY_FILE: "/etc/p.json",
      OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT: "192.0.2.53",
      OPENSANDBOX_EGRESS_DENY_WEBHOOK: "http://hook.example.com:8000/x",
    });
    expect(c).toMatchObject({ upstreamTimeoutMs: 500, sandboxId: "sb-1", logLevel: "debug", envPolicyFile: "/etc/p.json" });
    expect(c.doh).toEqual({ list: { 4: [], 6: [] }, stance: "off", problems: [] });
    expect(c.nameserverExempt).toEqual({ list: { 4: ["192.0.2.53/32"], 6: [] }, problems: [] });
    expect(c.denyWebhook).toMatchObject({ host: "hook.example.com", port: 8000, path: "/x" });
    expect(ok({}).denyWebhook).toBeUndefined();
    expect(ok({}, { OPENSANDBOX_EGRESS_DENY_WEBHOOK: " " }).denyWebhook).toBeUndefined();
  });

  test("bad numbers and formats are usage errors, every one listed", () => {
    const r = resolveServeConfig({ dnsPort: "15353.5", logFormat: "xml", selftestInterval: "0" }, { OPENSANDBOX_EGRESS_DNS_UPSTREAM_TIMEOUT: "soon", OPENSANDBOX_EGRESS_DENY_WEBHOOK: "ftp://hook.example.com/" });
    expect(r.ok).toBe(false);
    const e = (r as { error: string }).error;
    expect(e).toContain("--dns-port must be a whole number from 1 to 65535, got '15353.5'");
    expect(e).toContain("--log-format must be json or pretty");
    expect(e).toContain("OPENSANDBOX_EGRESS_DNS_UPSTREAM_TIMEOUT");
    expect(e).toContain("--selftest-interval");
    expect(e).toContain("OPENSANDBOX_EGRESS_DENY_WEBHOOK: the URL must start with http:// or https://");
    expect(resolveServeConfig({ dnsPort: "70000" }, {}).ok).toBe(false);
  });

  test("learned-set bounds and private answers: defaults, flags over environment, bad values are usage errors", () => {
    const d = resolveServeConfig({}, {});
    expect(d.ok && d.config.learnBounds).toEqual({ maxLifetimeSec: 3600, maxElements: 65_536 });
    expect(d.ok && d.config.privateAnswers).toBe("guard");
    const e = resolveServeConfig({ learnMaxTtl: "600" }, { EGRESSCTL_LEARN_MAX_TTL: "900", EGRESSCTL_LEARN_MAX_ELEMENTS: "1024", EGRESSCTL_PRIVATE_ANSWERS: "learn" });
    expect(e.ok && e.config.learnBounds).toEqual({ maxLifetimeSec: 600, maxElements: 1024 });
    expect(e.ok && e.config.privateAnswers).toBe("learn");
    const bad = resolveServeConfig({ learnMaxElements: "10" }, { EGRESSCTL_LEARN_MAX_TTL: "30", EGRESSCTL_PRIVATE_ANSWERS: "yes" });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error).toContain("EGRESSCTL_LEARN_MAX_TTL must be a whole number from 120 to 604800, got '30'");
      expect(bad.error).toContain("--learn-max-elements must be a whole number from 16 to 4194304, got '10'");
      expect(bad.error).toContain("EGRESSCTL_PRIVATE_ANSWERS must be guard or learn, got 'yes'");
    }
  });

  test("--inbound-from wins over EGRESSCTL_INBOUND_FROM; any by default; a bad entry is a usage error naming where", () => {
    expect(ok({}).inbound).toEqual({ kind: "any" });
    expect(ok({}, { EGRESSCTL_INBOUND_FROM: "none" }).inbound).toEqual({ kind: "none" });
    expect(ok({ inboundFrom: "198.51.100.0/24" }, { EGRESSCTL_INBOUND_FROM: "none" }).inbound).toEqual({ kind: "cidrs", list: { 4: ["198.51.100.0/24"], 6: [] } });
    const r = resolveServeConfig({}, { EGRESSCTL_INBOUND_FROM: "platform.example" });
    expect(r.ok ? "" : r.error).toMatch(/^EGRESSCTL_INBOUND_FROM: inbound entry 'platform.example' is not an IP address or CIDR/);
    const f = resolveServeConfig({ inboundFrom: "any,none" }, {});
    expect(f.ok ? "" : f.error).toMatch(/^--inbound-from: /);
  });

  test("--allow-local-upstream, or EGRESSCTL_ALLOW_LOCAL_UPSTREAM=1; off by default", () => {
    expect(ok({}).allowLocalUpstream).toBe(false);
    expect(ok({}, { EGRESSCTL_ALLOW_LOCAL_UPSTREAM: "1" }).allowLocalUpstream).toBe(true);
    expect(ok({ allowLocalUpstream: true }).allowLocalUpstream).toBe(true);
  });

  test("EGRESSCTL_ASSUME_SANDBOX is not read here (the probe's facts read it, once)", () => {
    expect(ok({}, { EGRESSCTL_ASSUME_SANDBOX: "1" }).allowHostNetwork).toBe(false);
    expect(ok({ allowHostNetwork: true }).allowHostNetwork).toBe(true);
  });
});

test("envFlag: unset or empty is the default; 0/false/no/off are false; anything else true", () => {
  expect(envFlag(undefined, true)).toBe(true);
  expect(envFlag(" ", false)).toBe(false);
  for (const f of ["0", "false", "No", "OFF"]) expect(envFlag(f, true)).toBe(false);
  for (const t of ["1", "true", "yes", "on"]) expect(envFlag(t, false)).toBe(true);
});

describe("OpenSandbox's environment, read leniently as its sidecar reads it", () => {
  test("OPENSANDBOX_EGRESS_MODE in OpenSandbox's token form", async () => {
    const { parseMode } = await import("../../../src/core/probe/modes.ts");
    const cases: [string, string | null][] = [["dns", "dns-only"], ["nft+dns", "dns+nftables"], [" DNS + NFT ", "dns+nftables"], ["dns+dns", "dns-only"], ["nft", null], ["dns+ebpf", null], ["+", null]];
    for (const [s, want] of cases) expect(parseMode(s)).toBe(want as never);
  });
  test("an OPENSANDBOX_EGRESS_MODE that is no mode: auto, with a warning (a --mode that is none stays a usage error)", () => {
    const c = ok({}, { OPENSANDBOX_EGRESS_MODE: "ebpf" });
    expect(c.mode).toBe("auto");
    expect(c.warnings[0]).toMatch(/OPENSANDBOX_EGRESS_MODE 'ebpf' is not a mode.*using auto/);
    expect(ok({ mode: "ebpf" }, {}).mode).toBe("ebpf");
    expect(ok({}, { OPENSANDBOX_EGRESS_MODE: "nft+dns" })).toMatchObject({ mode: "nft+dns", warnings: [] });
  });
  test("EGRESSCTL_ALWAYS_RULES_DIR and --always-rules-dir (the flag wins)", () => {
    expect(ok({}, { EGRESSCTL_ALWAYS_RULES_DIR: "/etc/egress" }).alwaysRulesDir).toBe("/etc/egress");
    expect(ok({ alwaysRulesDir: "/x" }, { EGRESSCTL_ALWAYS_RULES_DIR: "/etc/egress" }).alwaysRulesDir).toBe("/x");
    expect(ok({}, { EGRESSCTL_ALWAYS_RULES_DIR: "" }).alwaysRulesDir).toBe("/var/egress/rules");
  });
});

describe("--metrics-addr", () => {
  test("off by default; the flag, else EGRESSCTL_METRICS_ADDR", () => {
    expect(ok({}).metricsAddr).toBeNull();
    expect(ok({}, { EGRESSCTL_METRICS_ADDR: ":9090" }).metricsAddr).toEqual({ host: null, port: 9090 });
    expect(ok({ metricsAddr: "127.0.0.1:9464" }, { EGRESSCTL_METRICS_ADDR: ":9090" }).metricsAddr).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(ok({ metricsAddr: "off" }, { EGRESSCTL_METRICS_ADDR: ":9090" }).metricsAddr).toBeNull();
  });
  test("a bad address or the policy API's own port is a usage error naming where it came from", () => {
    const bad = resolveServeConfig({ metricsAddr: "9090" }, {});
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/^--metrics-addr: the metrics address must be :PORT/);
    const env = resolveServeConfig({}, { EGRESSCTL_METRICS_ADDR: "x:y" });
    expect(!env.ok && env.error).toMatch(/^EGRESSCTL_METRICS_ADDR: /);
    const clash = resolveServeConfig({ metricsAddr: ":18080" }, {});
    expect(!clash.ok && clash.error).toMatch(/cannot share port 18080/);
  });
});

describe("one resolution for apply and serve", () => {
  test("the same environment gives both the same ruleset settings", () => {
    const env = {
      OPENSANDBOX_EGRESS_DNS_UPSTREAM: "192.0.2.53",
      OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "203.0.113.143,2001:db8::143",
      OPENSANDBOX_EGRESS_BLOCK_DOH_443: "true",
      OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT: "192.0.2.54",
      OPENSANDBOX_EGRESS_DENY_WEBHOOK: "https://198.51.100.80:8443/x",
      EGRESSCTL_INBOUND_FROM: "none",
      EGRESSCTL_ALWAYS_RULES_DIR: "/etc/egress-always",
      EGRESSCTL_LEARN_MAX_ELEMENTS: "1024",
      EGRESSCTL_NFT_BACKEND: "binary",
    };
    const s = ok({}, env);
    const a = resolveApplyConfig({}, env);
    if (!a.ok) throw new Error(a.error);
    const pick = (c: RulesetSettings & { kernel: unknown }) => ({ doh: c.doh, nameserverExempt: c.nameserverExempt, inbound: c.inbound, alwaysRulesDir: c.alwaysRulesDir, denyWebhook: c.denyWebhook, learnBounds: c.learnBounds, dnsPort: c.dnsPort, kernel: c.kernel });
    expect(pick(a.config)).toEqual(pick(s));
    expect(s.doh.stance).toBe("operator");
    expect(s.kernel.nftBackend).toBe("binary");
    expect(literalWebhook(s.denyWebhook)).toEqual([{ family: 4, address: "198.51.100.80", port: 8443 }]);
    expect(literalWebhook(ok({}, { OPENSANDBOX_EGRESS_DENY_WEBHOOK: "http://hook.example.com/" }).denyWebhook)).toEqual([]);
  });

  test("apply refuses entries serve only warns about", () => {
    const env = { OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT: "192.0.2.54,not-an-address" };
    expect(ok({}, env).nameserverExempt.problems.length).toBe(1);
    const a = resolveApplyConfig({}, env);
    expect(a.ok).toBe(false);
  });
});
