// The adversarial suite's two identities really are what they claim: checked in the
// kernel's own words (/proc/self/status of the process setpriv started).
import { describe, expect, test } from "bun:test";
import { as, IDENTITIES } from "../../support/attacker.ts";

const NET_ADMIN = 12n;
const NET_RAW = 13n;

async function status(argv: string[]): Promise<Record<string, string>> {
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")}: ${err}`);
  return Object.fromEntries(out.split("\n").filter((l) => l.includes(":")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]));
}

const has = (hex: string, bit: bigint) => ((BigInt(`0x${hex}`) >> bit) & 1n) === 1n;

describe("attacker identities", () => {
  for (const who of IDENTITIES) {
    test(`${who}: neither CAP_NET_ADMIN nor CAP_NET_RAW in any set`, async () => {
      const s = await status(as(who, ["cat", "/proc/self/status"]));
      for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
        expect(has(s[set]!, NET_ADMIN)).toBe(false);
        expect(has(s[set]!, NET_RAW)).toBe(false);
      }
    });
  }

  test("nobody is uid and gid 65534 with no capability at all", async () => {
    const s = await status(as("nobody", ["cat", "/proc/self/status"]));
    expect(s.Uid!.split(/\s+/)).toEqual(["65534", "65534", "65534", "65534"]);
    expect(s.Gid!.split(/\s+/)).toEqual(["65534", "65534", "65534", "65534"]);
    expect(BigInt(`0x${s.CapEff}`)).toBe(0n);
    expect(BigInt(`0x${s.CapBnd}`)).toBe(0n);
  });

  test("root-nocap is uid 0 and keeps the other capabilities (it can rewrite root-owned files)", async () => {
    const s = await status(as("root-nocap", ["cat", "/proc/self/status"]));
    expect(s.Uid!.split(/\s+/)[1]).toBe("0");
    expect(has(s.CapEff!, 1n)).toBe(true); // CAP_DAC_OVERRIDE
  });
});
