// `egressctl probe [--json] [--require MODE] [--allow-host-network]`: gather the facts of
// this namespace (reading only), assess them exactly as serve would, print, set the exit
// code (0, or 4 when --require names a mode serve could not run in here).
import { defineCommand } from "citty";
import { ActionableError, Exit } from "./exit.ts";
import { log } from "./log.ts";
import { VERSION } from "../version.ts";
import { assess } from "../core/probe/assess.ts";
import { MODE_SPELLINGS, parseMode } from "../core/probe/modes.ts";
import { toJson, toText } from "../core/probe/report.ts";
import { gatherFacts } from "../effects/probe/facts.ts";
import { kernelSettings } from "../core/config/kernel-settings.ts";

export default defineCommand({
  meta: {
    name: "probe",
    description: `Report what this network namespace allows: kernel, CAP_NET_ADMIN, nftables (library,
binary, kernel), iptables, IPv6, whether it looks like the host's network, and the
enforcement mode serve would pick, with the reason for every downgrade. Reads only.

Exit status: 0 report printed; 4 --require names a mode serve could not run in here
(unavailable, or host network suspected without --allow-host-network); 2 usage error.

Examples:
  egressctl probe
  egressctl probe --json | jq -r .mode
  egressctl probe --require dns+nftables && echo "full isolation possible"
  egressctl probe --require dns --allow-host-network
  EGRESSCTL_NFT_BACKEND=none egressctl probe     what serve would do without nftables`,
  },
  args: {
    json: { type: "boolean", description: "print the stable JSON report (docs/probe.md)" },
    require: { type: "string", valueHint: "MODE", description: `exit 4 unless serve could run in MODE: ${MODE_SPELLINGS.join(", ")}` },
    "allow-host-network": { type: "boolean", description: "judge as serve --allow-host-network would (no refusal on host-network signals)" },
  },
  async run({ args }) {
    const want = args.require === undefined ? "auto" : parseMode(args.require);
    if (want === null) {
      throw new ActionableError(`unknown --require "${args.require}"; use one of: ${MODE_SPELLINGS.join(", ")}`, Exit.usage);
    }
    const facts = await gatherFacts({ kernel: kernelSettings(process.env) });
    const result = assess(facts, { wantMode: want, allowHostNetwork: args["allow-host-network"] === true });
    process.stdout.write(args.json ? JSON.stringify(toJson(facts, result, VERSION), null, 2) + "\n" : toText(facts, result));
    if (result.mode === "disabled") log.warn("enforcement would be DISABLED here: nothing would be filtered");
    if (args.require !== undefined && result.refusal) {
      log.error(result.refusal.message);
      process.exitCode = Exit.unavailable;
    }
  },
});
