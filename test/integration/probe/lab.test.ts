// probe inside a fresh lab namespace: the full mode, then the same namespace with
// capabilities dropped and with nftables / iptables switched off by the documented
// overrides. Each run also checks that probe left the kernel state as it found it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Lab } from "../../support/lab.ts";
import { BIN, json, requireBinary } from "./binary.ts";

let lab: Lab;
const NO_NET_ADMIN = ["setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin"];
const NO_NFT = { EGRESSCTL_NFT_BACKEND: "none" };
const NO_TOOLS = { EGRESSCTL_NFT_BACKEND: "none", EGRESSCTL_IPTABLES: "none" };

beforeAll(async () => {
  requireBinary();
  lab = await Lab.create();
});
afterAll(async () => {
  await lab?.destroy();
});

const probe = (args: string[], env: Record<string, string> = {}, prefix: string[] = []) =>
  lab.exec("sandbox", [...prefix, BIN, "probe", ...args], { env });

/** Everything probe could have touched in the namespace, as text. */
async function kernelState(): Promise<string> {
  const nft = await lab.exec("sandbox", ["nft", "list", "ruleset"]);
  const legacy = await lab.exec("sandbox", ["cat", "/proc/net/ip_tables_names"]);
  return `${nft.stdout}\n--legacy--\n${legacy.stdout}`;
}

describe("probe in a fresh lab namespace", () => {
  test("picks dns+nftables, with every fact present and no host suspicion", async () => {
    const before = await kernelState();
    const r = await probe(["--json"]);
    expect(r.code).toBe(0);
    const j = json(r);
    expect(j.schemaVersion).toBe(1);
    expect(j.mode).toBe("dns+nftables");
    expect(j.redirect).toBe("nftables");
    expect(j.capabilities.netAdmin).toBe(true);
    expect(j.kernel.release).toMatch(/^\d+\.\d+/);
    expect(j.nftables.library.available).toBe(true);
    expect(j.nftables.binary.available).toBe(true);
    expect(j.nftables.kernel).toMatchObject({ accepts: true });
    expect(["library", "binary"]).toContain(j.nftables.kernel.checkedWith);
    expect(j.iptables).toMatchObject({ available: true, natUsable: true });
    expect(["nft", "legacy"]).toContain(j.iptables.variant);
    expect(j.ipv6).toMatchObject({ enabled: true, disableIpv6: 0, loopback: true });
    expect(j.hostNetwork.suspected).toBe(false);
    expect(j.hostNetwork.signals.filter((s: any) => s.fired)).toEqual([]);
    expect(j.downgrades).toEqual([]);
    expect(j.refusal).toBeNull();
    expect(await kernelState()).toBe(before); // the check transaction was not committed
  });

  test("text output: a table, then the mode and its reasons", async () => {
    const r = await probe([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^CAP_NET_ADMIN\s+yes$/m);
    expect(r.stdout).toMatch(/^host network\s+no/m);
    expect(r.stdout).toMatch(/^mode: dns\+nftables$/m);
  });

  test.each(["dns+nftables", "dns+nft", "dns-only", "dns", "disabled"])("--require %s succeeds", async (m) => {
    expect((await probe(["--require", m])).code).toBe(0);
  });

  test("an unknown --require is a usage error", async () => {
    const r = await probe(["--require", "full"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/dns\+nft/);
  });
});

describe("choosing the nftables backend", () => {
  test("EGRESSCTL_NFT_BACKEND=binary: the kernel is asked through nft", async () => {
    const j = json(await probe(["--json"], { EGRESSCTL_NFT_BACKEND: "binary" }));
    expect(j.nftables.library).toEqual({ available: false, error: "not used (EGRESSCTL_NFT_BACKEND=binary)" });
    expect(j.nftables.kernel).toEqual({ accepts: true, checkedWith: "binary" });
    expect(j.mode).toBe("dns+nftables");
  });

  test("a libnftables path that does not load falls back to the binary", async () => {
    const j = json(await probe(["--json"], { EGRESSCTL_LIBNFTABLES_PATH: "/nonexistent/libnftables.so.1" }));
    expect(j.nftables.library).toMatchObject({ available: false, path: "/nonexistent/libnftables.so.1" });
    expect(j.nftables.kernel).toEqual({ accepts: true, checkedWith: "binary" });
    expect(j.mode).toBe("dns+nftables");
  });
});

describe("without CAP_NET_ADMIN", () => {
  test("runs disabled, loudly", async () => {
    const r = await probe(["--json"], {}, NO_NET_ADMIN);
    expect(r.code).toBe(0);
    const j = json(r);
    expect(j.capabilities.netAdmin).toBe(false);
    expect(j.mode).toBe("disabled");
    expect(j.redirect).toBeNull();
    expect(j.downgrades).toEqual([{ from: "dns+nftables", to: "disabled", reason: expect.stringMatching(/no CAP_NET_ADMIN/) }]);
    expect(j.nftables.kernel.accepts).toBe(false);
    expect(r.stderr).toMatch(/DISABLED/);
  });

  test("--require dns-only exits 4 and says why", async () => {
    const r = await probe(["--require", "dns-only"], {}, NO_NET_ADMIN);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/dns-only was required but is unavailable: no CAP_NET_ADMIN/);
  });
});

describe("nftables switched off (EGRESSCTL_NFT_BACKEND=none)", () => {
  test("falls back to dns-only through iptables", async () => {
    const before = await kernelState();
    const j = json(await probe(["--json"], NO_NFT));
    expect(j.nftables.library).toEqual({ available: false, error: "unavailable (disabled by EGRESSCTL_NFT_BACKEND=none)" });
    expect(j.nftables.binary).toEqual({ available: false, error: "unavailable (disabled by EGRESSCTL_NFT_BACKEND=none)" });
    expect(j.mode).toBe("dns-only");
    expect(j.redirect).toBe("iptables");
    expect(j.downgrades).toEqual([{ from: "dns+nftables", to: "dns-only", reason: expect.stringMatching(/nftables unusable/) }]);
    expect(await kernelState()).toBe(before); // listing the nat table created nothing
  });

  test("--require dns+nftables exits 4, --require dns succeeds", async () => {
    expect((await probe(["--require", "dns+nftables"], NO_NFT)).code).toBe(4);
    expect((await probe(["--require", "dns"], NO_NFT)).code).toBe(0);
  });

  test("with iptables off too: disabled, and any enforcing mode is refused", async () => {
    const r = await probe(["--json"], NO_TOOLS);
    expect(r.code).toBe(0);
    const j = json(r);
    expect(j.iptables).toMatchObject({ available: false, error: "unavailable (disabled by EGRESSCTL_IPTABLES=none)" });
    expect(j.mode).toBe("disabled");
    expect(j.downgrades.map((d: any) => `${d.from}>${d.to}`)).toEqual(["dns+nftables>dns-only", "dns-only>disabled"]);
    const req = await probe(["--require", "dns-only"], NO_TOOLS);
    expect(req.code).toBe(4);
    expect(req.stderr).toMatch(/iptables: unavailable \(disabled by EGRESSCTL_IPTABLES=none\)/);
  });
});
