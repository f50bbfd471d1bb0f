// `egressctl validate FILE... [--json] [--mode M]`: read each file, run the policy
// engine, print, set the exit code (0 valid, 3 invalid, 2 a file could not be read).
// Never touches the system beyond reading the named files.
import { defineCommand } from "citty";
import { ActionableError, Exit } from "./exit.ts";
import { log } from "./log.ts";
import { loadPolicyText } from "../core/policy/load.ts";
import { readPolicyBytes } from "../effects/fs/policy-file.ts";
import { MODE_SPELLINGS, parseMode } from "../core/probe/modes.ts";
import { decodePolicyBytes } from "../core/policy/bytes.ts";
import { humanReport, jsonReport, type FileResult } from "../core/policy/report.ts";

export default defineCommand({
  meta: {
    name: "validate",
    description: `Check policy files (YAML or JSON) and list every problem with its line:column.

Exit status: 0 all valid (warnings allowed), 3 some file invalid, 2 usage error
(no file given, a file missing or unreadable).

Examples:
  egressctl validate policy.yaml
  egressctl validate examples/*.yaml --json | jq '.files[].problems'
  egressctl validate --mode dns-only policy.yaml    warn about rules that mode ignores
  echo "$OPENSANDBOX_EGRESS_RULES" | egressctl validate -`,
  },
  args: {
    file: { type: "positional", required: false, description: "policy files, YAML or JSON; \"-\" reads stdin" },
    json: { type: "boolean", description: "print the stable JSON report (see docs/policy.md)" },
    mode: { type: "string", description: `enforcement mode the policy is for: ${MODE_SPELLINGS.join(", ")}` },
  },
  run({ args }) {
    const files = args._;
    if (files.length === 0) throw new ActionableError("no policy file given; usage: egressctl validate FILE... [--json]", Exit.usage);
    const mode = args.mode === undefined ? undefined : parseMode(args.mode);
    if (mode === null) throw new ActionableError(`unknown --mode "${args.mode}"; use one of: ${MODE_SPELLINGS.join(", ")}`, Exit.usage);
    const results: FileResult[] = [];
    let unreadable = 0;
    for (const file of files) {
      const bytes = readPolicyBytes(file);
      if (typeof bytes === "string") {
        log.error(`${file}: ${bytes}`);
        unreadable++;
        continue;
      }
      const decoded = decodePolicyBytes(bytes);
      if ("problem" in decoded) results.push({ file, policy: null, problems: [decoded.problem] });
      else results.push({ file, ...loadPolicyText(decoded.text, { source: file, ...(mode ? { mode } : {}) }) });
    }
    if (results.length > 0 || !args.json) {
      process.stdout.write(args.json ? JSON.stringify(jsonReport(results), null, 2) + "\n" : humanReport(results));
    }
    process.exitCode = unreadable > 0 ? Exit.usage : results.every((r) => r.policy !== null) ? Exit.ok : Exit.invalidPolicy;
  },
});

/** The file's bytes, or why they cannot be had (as a message for people). */
