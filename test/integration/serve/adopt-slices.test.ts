// A restarted serve adopts a large learned set that reaches it in many slices: the
// kernel I/O thread hands the elements over as it reads them (about 2,048 at a time,
// cut at datagram boundaries, so of uneven sizes), and the DNS thread takes them one
// slice per turn of its event loop while more arrive. Every element must be judged
// exactly once: those of allowed names adopted, the others removed from the kernel.
import { expect, test } from "bun:test";
import type { Lab } from "../../support/lab.ts";
import { LAB } from "../../support/lab.ts";
import { args, learned, serve, status, useLab, writePolicy } from "./helpers-serve.ts";

let lab: Lab;
let policy: string;

useLab((l) => {
  lab = l;
  policy = writePolicy(lab, JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "*.fresh.example.com" }] }));
});

const N = 20_001;
/** every tenth element's name is one the policy does not allow */
const deniedAt = (i: number) => i % 10 === 0;

test(`a restart adopts all ${N} elements of a learned set read in many slices, each judged once`, async () => {
  const first = await serve(lab, args(policy, LAB.dnsV4));
  await first.stop("SIGKILL");
  const lines: string[] = [];
  for (let i = 0; i < N; i += 500) {
    const els: string[] = [];
    for (let j = i; j < Math.min(N, i + 500); j++) {
      const name = deniedAt(j) ? `n${j}.other.example.net` : `n${j}.fresh.example.com`;
      els.push(`2001:db8:ad:${(j >> 16).toString(16)}::${(j & 0xffff).toString(16)} timeout 200s comment "${name}"`);
    }
    lines.push(`add element inet egressctl learned6 { ${els.join(", ")} }`);
  }
  const fill = await lab.exec("sandbox", ["nft", "-f", lab.file("fill.nft", `${lines.join("\n")}\n`)], { timeoutMs: 120_000 });
  expect(fill.stderr).toBe("");
  const denied = Array.from({ length: N }, (_, i) => i).filter(deniedAt).length;

  const again = await serve(lab, args(policy, LAB.dnsV4));
  const ev = await again.waitEvent((e) => e.event === "learned.adopted");
  expect(ev).toMatchObject({ adopted: N - denied, removed: denied });
  expect(ev.incomplete).toBeUndefined();
  // the kernel holds exactly the adopted ones; serve counts them toward the bound
  const held = await learned(lab, "learned6");
  expect(held.length).toBe(N - denied);
  expect(held).not.toContain("2001:db8:ad::");
  expect(held).toContain("2001:db8:ad::1");
  // and its name table has one name per adopted element
  expect((await status(again)).learned).toMatchObject({ names: N - denied, addresses: N - denied });
});
