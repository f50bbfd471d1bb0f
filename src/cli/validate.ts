// `egressctl validate FILE... [--json] [--mode M] [--strict] [--syntax S]`: read each
// file, run the policy engine judging intent (profile "validate"), print, set the exit
// code (0 valid, 3 invalid, 2 a file could not be read). Never touches the system beyond
// reading the named files.
import { defineCommand } from "citty";
import { ActionableError, Exit } from "./exit.ts";
import { log } from "./log.ts";
import { loadPolicyText, syntaxOfFile, type Syntax } from "../core/policy/load.ts";
import { readPolicyBytes } from "../effects/fs/policy-file.ts";
import { MODE_SPELLINGS, parseMode } from "../core/probe/modes.ts";
import { decodePolicyBytes } from "../core/policy/bytes.ts";
import { humanReport, jsonReport, type FileResult } from "../core/policy/report.ts";

export default defineCommand({
  meta: {
    name: "validate",
    description: `Check policy files (YAML or JSON) and list every problem with its line:column.

A .json file is read as JSON (a trailing comma or a comment is an error), anything else
as YAML. An oddity serve runs with one clear meaning ("Allow", a rule without an action)
is a warning; a target that cannot match what was written (a port, a URL) is an error.

Exit status: 0 all valid (warnings allowed), 3 some file invalid, 2 usage error
(no file given, a file missing or unreadable).

Examples:
  egressctl validate policy.yaml
  egressctl validate examples/*.yaml --json | jq '.files[].problems'
  egressctl validate --mode dns-only policy.yaml    warn about rules that mode ignores
  egressctl validate --strict policy.json           every warning is an error too
  echo "$OPENSANDBOX_EGRESS_RULES" | egressctl validate --syntax json -`,
  },
  args: {
    file: { type: "positional", required: false, description: "policy files, YAML or JSON; \"-\" reads stdin" },
    json: { type: "boolean", description: "print the stable JSON report (see docs/policy.md)" },
    mode: { type: "string", description: `enforcement mode the policy is for: ${MODE_SPELLINGS.join(", ")}` },
    strict: { type: "boolean", description: "treat every warning as an error (egressctl's plain form only)" },
    syntax: { type: "string", description: "json or yaml; default: json for a .json file, else yaml" },
  },
  run({ args }) {
    const files = args._;
    if (files.length === 0) throw new ActionableError("no policy file given; usage: egressctl validate FILE... [--json]", Exit.usage);
    const mode = args.mode === undefined ? undefined : parseMode(args.mode);
    if (mode === null) throw new ActionableError(`unknown --mode "${args.mode}"; use one of: ${MODE_SPELLINGS.join(", ")}`, Exit.usage);
    if (args.syntax !== undefined && args.syntax !== "json" && args.syntax !== "yaml") throw new ActionableError(`unknown --syntax "${args.syntax}"; use json or yaml`, Exit.usage);
    const syntaxOf = (file: string): Syntax => (args.syntax as Syntax | undefined) ?? syntaxOfFile(file);
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
      else results.push({ file, ...loadPolicyText(decoded.text, { source: file, syntax: syntaxOf(file), strict: args.strict === true, ...(mode ? { mode } : {}) }) });
    }
    if (results.length > 0 || !args.json) {
      process.stdout.write(args.json ? JSON.stringify(jsonReport(results), null, 2) + "\n" : humanReport(results));
    }
    process.exitCode = unreadable > 0 ? Exit.usage : results.every((r) => r.policy !== null) ? Exit.ok : Exit.invalidPolicy;
  },
});
