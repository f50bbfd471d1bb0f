// `make demo`: the real thing in a throwaway lab. Builds two network namespaces (never
// the host's firewall), starts Knot and the lab's hosts, runs `egressctl serve` with
// examples/lab-demo.yaml in the sandbox, and plays a short session as an application
// would, printing what it sees and serve's log lines. Everything is removed at the end.
import { join } from "node:path";
import { LAB, Lab } from "../test/support/lab.ts";
import { startKnot } from "../test/support/knot.ts";
import { startWorld } from "../test/support/world.ts";
import { BIN, startServe } from "../test/support/serve.ts";

const POLICY = join(import.meta.dir, "..", "examples", "lab-demo.yaml");
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

const lab = await Lab.create();
try {
  console.log(bold(`lab ${lab.id}: sandbox and world namespaces, Knot DNS at ${LAB.dnsV4}, hosts on documentation ranges\n`));
  await startKnot(lab);
  await startWorld(lab);
  console.log(bold("policy:"));
  console.log((await Bun.file(POLICY).text()).replace(/^/gm, "  "));
  await show("egressctl validate", [BIN, "validate", POLICY]);
  await show("egressctl probe", [BIN, "probe"], { EGRESSCTL_ASSUME_SANDBOX: "1" });

  const served = await startServe(lab, ["serve", POLICY, "--upstream", LAB.dnsV4, "--log-format", "pretty"], {
    env: { OPENSANDBOX_EGRESS_DOH_BLOCKLIST: `${LAB.dohV4},${LAB.dohV6}` },
  });
  let printed = 0;
  const flushLog = () => {
    const lines = served.stderr().split("\n").filter(Boolean);
    for (const l of lines.slice(printed)) console.log(`    serve | ${l}`);
    printed = lines.length;
  };
  console.log(bold("\negressctl serve is running in the sandbox; the application's session:\n"));
  flushLog();
  await show("an allowed name", ["curl", "-sS", "-m", "3", "http://api.example.com/"]);
  await show("a name under an allowed wildcard", ["curl", "-sS", "-m", "3", "http://files.pypi.example.com/"]);
  await show("a denied name: NXDOMAIN with an Extended DNS Error", ["kdig", "+edns", "+noquestion", "+nostats", "evil.pypi.example.com"]);
  await show("a name the policy does not list", ["curl", "-sS", "-m", "3", "http://other.example.com/"]);
  await show("a direct connection to an address no allowed name gave", ["curl", "-sS", "-m", "3", "http://198.51.100.77/"]);
  await show("DNS-over-TLS to anyone", ["curl", "-sS", "-m", "3", "http://198.51.100.77:853/"]);
  await show("a DNS-over-HTTPS provider", ["curl", "-sSk", "-m", "3", `https://${LAB.dohV4}/`]);
  await Bun.sleep(100);
  flushLog();
  await show("egressctl doctor: what is enforced, and why a name or an address is allowed or not", [BIN, "doctor", "--socket", served.socket, "api.example.com", "198.51.100.77"]);
  const st = JSON.parse((await served.get("/status")).body);
  console.log(bold("\nstatus socket:"), `mode ${st.mode}, measured ${st.measuredLevel}, kernel matches policy: ${st.kernel?.matches},`,
    `${st.learned.addresses} learned address(es), ${st.dns?.denied} denied quer(ies)`);
  await served.stop();
} finally {
  await lab.destroy();
}
console.log(bold("\nlab removed."));

async function show(title: string, argv: string[], env?: Record<string, string>): Promise<void> {
  console.log(bold(`# ${title}`));
  console.log(`$ ${argv.map((a) => (a === BIN ? "egressctl" : a)).join(" ")}`);
  const r = await lab.exec("sandbox", argv, { env });
  const out = `${r.stdout}${r.stderr}`.trim();
  if (out) console.log(out.replace(/^/gm, "  "));
  console.log(`  (exit ${r.code})\n`);
}
