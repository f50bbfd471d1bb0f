// `egressctl apply FILE [--dry-run] [--check] [--delete] [--mode M] [--audit]
// [--drop-silently] [--proxy-port N] [--allow-host-network]`: resolve arguments, call the apply use case,
// print, map the outcome to an exit code (docs/cli.md, "Exit codes"). Ruleset text goes to
// stdout, everything else to stderr.
import { defineCommand } from "citty";
import { applyPolicy, type ApplyAction, type ApplyOutcome } from "../app/apply.ts";
import { readPolicyText } from "../effects/fs/policy-file.ts";
import { humanLine } from "../core/policy/report.ts";
import { STRICT_443_WARNING } from "../core/ruleset/doh.ts";
import { readAlwaysRules } from "../effects/fs/always-files.ts";
import { resolveApplyConfig } from "../core/config/apply-config.ts";
import { DEFAULT_PROXY_PORT } from "../core/ruleset/names.ts";
import { openNftBackend } from "../effects/nft/backend.ts";
import { gatherFacts } from "../effects/probe/facts.ts";
import { ActionableError, Exit } from "./exit.ts";
import { log } from "./log.ts";

export default defineCommand({
  meta: {
    name: "apply",
    description: `Render the nftables ruleset for a policy and load it in one atomic transaction.
Only table inet egressctl is touched; addresses serve learned survive a re-apply.

Exit status: 0 done, 2 usage, 3 invalid policy, 4 no nftables or no CAP_NET_ADMIN, or
refused: this looks like the host's network namespace (as serve refuses; override with
--allow-host-network or EGRESSCTL_ASSUME_SANDBOX=1), or the policy has
require_full_isolation and --mode is dns-only; 5 the kernel rejected the ruleset (the
offending ruleset line is named). --dry-run makes none of these checks.

The operator's always lists (deny.always, allow.always in --always-rules-dir, default
/var/egress/rules) are laid over the policy exactly as serve lays them, so apply and
serve render the same ruleset; a bad line is a warning (file:line).

Environment: OPENSANDBOX_EGRESS_DOH_BLOCKLIST (comma-separated IPs/CIDRs replacing the
built-in DoH list), OPENSANDBOX_EGRESS_BLOCK_DOH_443 (false: no DoH address block; true:
the list before every allow, or without a list all of port 443),
OPENSANDBOX_EGRESS_DNS_UPSTREAM (limit the proxy's exemption to these resolvers),
OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT (comma-separated addresses: DNS to these servers is
not redirected and is let out, port 53 only), EGRESSCTL_INBOUND_FROM (as --inbound-from),
EGRESSCTL_LEARN_MAX_ELEMENTS (the learned sets' size), OPENSANDBOX_EGRESS_DENY_WEBHOOK (a
receiver named by address is let out, as serve does),
EGRESSCTL_ASSUME_SANDBOX=1 (this namespace is a sandbox whatever the host-network
signals say), EGRESSCTL_NFT_BACKEND=library|binary.

Examples:
  egressctl apply policy.yaml --dry-run      print the ruleset, load nothing
  egressctl apply policy.yaml --check        let the kernel check it, commit nothing
  egressctl apply policy.yaml                load it
  egressctl apply --delete                   remove egressctl's table`,
  },
  args: {
    file: { type: "positional", required: false, description: "policy file, YAML or JSON; \"-\" reads stdin" },
    "dry-run": { type: "boolean", description: "print the ruleset to stdout; touch nothing" },
    check: { type: "boolean", description: "have the kernel check the ruleset without committing it" },
    delete: { type: "boolean", description: "remove table inet egressctl (quietly succeeds when absent)" },
    mode: { type: "string", description: "dns+nftables (default) or dns-only (aliases dns+nft, dns)" },
    audit: { type: "boolean", description: "log what would be denied and let it through" },
    "drop-silently": { type: "boolean", description: "drop denied packets instead of reset / ICMP admin-prohibited" },
    "proxy-port": { type: "string", description: `port of the DNS proxy on 127.0.0.1/[::1] (default ${DEFAULT_PROXY_PORT})` },
    "always-rules-dir": { type: "string", description: "directory of deny.always and allow.always, laid over the policy as serve does (default EGRESSCTL_ALWAYS_RULES_DIR, else /var/egress/rules)" },
    "inbound-from": { type: "string", description: "who may open flows into the sandbox and be answered: any (default), none, or comma-separated CIDRs (default EGRESSCTL_INBOUND_FROM)" },
    "allow-host-network": { type: "boolean", description: "touch the kernel even where the namespace looks like the host's (firewall this namespace anyway)" },
  },
  async run({ args }) {
    const action: ApplyAction = args.delete ? "delete" : args["dry-run"] ? "dry-run" : args.check ? "check" : "apply";
    if ([args.delete, args["dry-run"], args.check].filter(Boolean).length > 1) usage("use at most one of --dry-run, --check, --delete");
    const file = args._[0];
    if (action !== "delete" && !file) usage("no policy file given; usage: egressctl apply FILE [--dry-run|--check]");
    const r = resolveApplyConfig(
      { mode: args.mode, proxyPort: args["proxy-port"], audit: args.audit, dropSilently: args["drop-silently"], alwaysRulesDir: args["always-rules-dir"], inboundFrom: args["inbound-from"], allowHostNetwork: args["allow-host-network"] },
      process.env,
    );
    if (!r.ok) usage(r.error);
    const { kernel, ...config } = r.config;
    if (config.doh.stance === "strict") log.warn(STRICT_443_WARNING);
    // the same always lists serve would lay over this policy, so both render one ruleset
    const always = action === "delete" ? null : readAlwaysRules(config.alwaysRulesDir);
    if (always && !always.ok) usage(always.errors.map((e) => `cannot read ${e.path}: ${e.error}`).join("\n"));

    const outcome = await applyPolicy(
      {
        ...config,
        action,
        ...(file ? { text: readPolicy(file), source: file } : {}),
        ...(always?.ok ? { always: always.rules } : {}),
      },
      {
        // only the namespace signals are judged: no nftables check transaction is needed
        // (or wanted) before the refusal, so on the host nothing reaches the kernel
        // only the namespace's identity matters here: no nftables check transaction, and
        // no iptables listing (with iptables-nft that is a netlink conversation too)
        gatherFacts: () => gatherFacts({ openNftBackend: () => ({ unavailable: "not checked by apply" }), kernel: { ...kernel, iptables: "none" } }),
        openBackend: () => openNftBackend(kernel),
      },
    );
    report(outcome, file ?? "");
  },
});

function report(o: ApplyOutcome, file: string): void {
  switch (o.kind) {
    case "invalid":
      for (const p of o.problems) log.error(humanLine(file, p));
      throw new ActionableError(`${file}: invalid policy; nothing was loaded (egressctl validate ${file})`, Exit.invalidPolicy);
    case "unavailable":
      throw new ActionableError(o.reason, Exit.unavailable);
    case "rejected": {
      const at = o.line !== undefined ? ` at ruleset line ${o.line}: ${o.text ?? ""}` : "";
      throw new ActionableError(`the kernel rejected the ruleset${at}\n${o.error}\nNothing changed. See the full ruleset with --dry-run.`, Exit.kernelRejected);
    }
    case "ok":
      if (o.warnings.length) log.warn(o.warnings.map((p) => humanLine(file, p)).join("\n"));
      for (const p of o.alwaysProblems) log.warn(`${p.file}:${p.line}: warning: ${p.message}`);
      if (o.ruleset !== undefined) process.stdout.write(o.ruleset);
      else if (o.action === "delete") log.info(`table inet egressctl removed (via ${o.backend})`);
      else log.info(`${o.action === "check" ? "the kernel accepts" : "applied"} policy sha256:${o.digest!.slice(0, 12)} (via ${o.backend})`);
  }
}

function readPolicy(file: string): string {
  const d = readPolicyText(file);
  if ("unreadable" in d) usage(`${file}: ${d.unreadable}`);
  if ("problem" in d) throw new ActionableError(humanLine(file, d.problem), Exit.invalidPolicy);
  return d.text;
}

function usage(msg: string): never {
  throw new ActionableError(msg, Exit.usage);
}
