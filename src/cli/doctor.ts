// `egressctl doctor [--json] [--socket PATH] [--policy FILE] [NAME|IP ...]`: inside a
// running sandbox, ask serve (status socket), the kernel (table inet egressctl, read
// only) and the DNS path (one query under .egressctl.invalid) what is enforced and why;
// explain each NAME or IP given. Exit 0 all good, 1 serve unreachable or enforcement
// weaker than intended, 2 usage, 3 an invalid --policy file.
import { defineCommand } from "citty";
import { ActionableError, Exit } from "./exit.ts";
import { DEFAULT_STATUS_SOCKET, statusSocketFrom } from "../core/config/serve-config.ts";
import { kernelSettings } from "../core/config/kernel-settings.ts";
import { loadPolicyText, syntaxOfFile } from "../core/policy/load.ts";
import { humanLine } from "../core/policy/report.ts";
import { policyDigest } from "../core/ruleset/digest.ts";
import { reportText } from "../core/doctor/text.ts";
import { readPolicyText } from "../effects/fs/policy-file.ts";
import { runDoctor, type DoctorOptions } from "../app/doctor/doctor.ts";
import { realEffects } from "../app/doctor/effects.ts";

export default defineCommand({
  meta: {
    name: "doctor",
    description: `Inside a running sandbox: is serve alive, which mode and why, does the kernel hold what
serve believes, is DNS intercepted, are the upstreams healthy, what was denied lately; and
for each NAME or IP given, why it is allowed or denied (learned or not, expiry, the set
or rule that decides). Reads only: the status socket, table inet egressctl, and one DNS
query for a name under .egressctl.invalid.

Exit status: 0 all good; 1 serve is not reachable, or enforcement is weaker than intended
(measured level below intended, kernel state not what serve loaded, DNS not intercepted);
2 usage error; 3 the --policy file is invalid. "Intended" is the mode serve runs: a serve
in dns-only (addresses not enforced) or disabled (nothing enforced) is warned about, not
failed.

Examples:
  egressctl doctor
  egressctl doctor api.github.com 203.0.113.7
  egressctl doctor --policy /etc/egressctl/policy.yaml pypi.org    name the deciding rule and line
  egressctl doctor --json | jq '.findings[] | select(.status == "fail")'
  egressctl doctor --socket /run/egressctl/egressctl.sock`,
  },
  args: {
    targets: { type: "positional", required: false, description: "names or addresses to explain" },
    json: { type: "boolean", description: "print the stable JSON report (docs/doctor.md)" },
    socket: { type: "string", valueHint: "PATH", description: `serve's status socket (default: EGRESSCTL_STATUS_SOCKET, else ${DEFAULT_STATUS_SOCKET})` },
    policy: { type: "string", valueHint: "FILE", description: "the policy serve runs, to name the rule (and line) that decides each NAME or IP" },
  },
  async run({ args }) {
    const socket = statusSocketFrom(args.socket, process.env);
    if (socket === "") throw new ActionableError("--socket needs a path", Exit.usage);
    const opts: DoctorOptions = { socket, targets: args._.map(String), policy: args.policy === undefined ? null : loadPolicy(args.policy) };
    const report = await runDoctor(opts, realEffects(socket, kernelSettings(process.env)));
    process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : reportText(report));
    process.exitCode = report.exitCode;
  },
});

function loadPolicy(file: string): NonNullable<DoctorOptions["policy"]> {
  const d = readPolicyText(file);
  if ("unreadable" in d) throw new ActionableError(`--policy ${file}: ${d.unreadable}`, Exit.usage);
  if ("problem" in d) throw new ActionableError(humanLine(file, d.problem), Exit.invalidPolicy);
  // read as serve runs it, so the rule named is the one serve applies
  const r = loadPolicyText(d.text, { source: file, syntax: syntaxOfFile(file), profile: "run" });
  if (!r.policy) {
    throw new ActionableError(`${r.problems.filter((p) => p.severity === "error").map((p) => humanLine(file, p)).join("\n")}\n--policy ${file} is invalid (egressctl validate ${file})`, Exit.invalidPolicy);
  }
  return { file, policy: r.policy, digest: policyDigest(r.policy) };
}
