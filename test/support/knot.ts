// A real upstream resolver for the lab: Knot DNS (Debian package `knot`), authoritative
// for the lab zones, running in the world namespace. Started per test file, ended by PID.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { LAB, type Lab, waitFor } from "./lab.ts";
import { defaultZones, renderZone, type Zone } from "./zones.ts";

export interface Knot {
  proc: Subprocess;
  addresses: string[];
  stop(): Promise<void>;
}

export async function startKnot(lab: Lab, opts: { zones?: Zone[]; listen?: string[]; name?: string } = {}): Promise<Knot> {
  const zones = opts.zones ?? defaultZones();
  const listen = opts.listen ?? [LAB.dnsV4, LAB.dnsV6];
  const dir = join(lab.dir, opts.name ?? "knot");
  mkdirSync(dir, { recursive: true });
  for (const z of zones) writeFileSync(join(dir, `${z.origin}.zone`), renderZone(z));
  const conf = [
    "server:",
    `  rundir: "${dir}"`,
    // an address listens on port 53, or on the port it names (`address@port`)
    ...listen.map((a) => `  listen: ${a.includes("@") ? a : `${a}@53`}`),
    "database:",
    `  storage: "${dir}"`,
    "log:",
    "  - target: stderr",
    "    any: warning",
    "control:",
    `  listen: "${dir}/knot.sock"`,
    "template:",
    "  - id: default",
    `    storage: "${dir}"`,
    '    file: "%s.zone"',
    "    zonefile-sync: -1",
    "    zonefile-load: whole",
    "    journal-content: none",
    "zone:",
    ...zones.map((z) => `  - domain: ${z.origin}`),
    "",
  ].join("\n");
  writeFileSync(join(dir, "knot.conf"), conf);
  const proc = lab.spawn("world", ["knotd", "-c", join(dir, "knot.conf")], { stdout: "ignore" });
  const probeName = `ns1.${zones[0]!.origin}`;
  await waitFor(`knotd on ${listen[0]}`, async () => {
    if (proc.exitCode !== null) throw new Error(`knotd exited: ${await new Response(proc.stderr).text()}`);
    const r = await lab.exec("world", ["kdig", "+short", "+timeout=1", "+retry=0", `@${listen[0]}`, probeName, "A"]);
    return r.code === 0 && r.stdout.trim().length > 0;
  });
  return { proc, addresses: listen, stop: async () => void (await lab.stop(proc)) };
}
