// `egressctl apply FILE [--dry-run] [--check] [--delete] [--mode M] [--audit]
// [--drop-silently] [--proxy-port N] [--allow-host-network]`: resolve arguments, call the apply use case,
// print, map the outcome to an exit code (docs/cli.md, "Exit codes"). Ruleset text goes to
// stdout, everything else to stderr.
import { defineCommand } from "citty";
import { applyPolicy, type ApplyAction, type ApplyOutcome } from "../app/apply.ts";
import { readPolicyText } from "../effects/fs/policy-file.ts";
import { humanLine } from "../core/policy/report.ts";
import { parseUpstreamList } from "../core/dns/upstreams.ts";
import { dohFromSettings, STRICT_443_WARNING } from "../core/ruleset/doh.ts";
import { DEFAULT_ALWAYS_DIR } from "../core/always/types.ts";
import { readAlwaysRules } from "../effects/fs/always-files.ts";
import { NAMESERVER_EXEMPT_ENV, nameserverExempt } from "../core/ruleset/nameserver-exempt.ts";
import { INBOUND_ENV, parseInboundFrom, type InboundFrom } from "../core/ruleset/inbound.ts";
import { envFlag } from "../core/config/env-flag.ts";
import { parseMode } from "../core/probe/modes.ts";
import type { Mode } from "../core/ruleset/model.ts";
import { DEFAULT_PROXY_PORT, DOH_BLOCKLIST_ENV } from "../core/ruleset/names.ts";
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
    // apply loads a ruleset, so only the two modes that have one make sense here
    const parsed = parseMode(args.mode ?? "dns+nftables");
    if (parsed !== "dns-only" && parsed !== "dns+nftables") usage(`unknown --mode "${args.mode}"; use dns+nftables or dns-only (aliases dns+nft, dns)`);
    const mode: Mode = parsed;
    const proxyPort = Number(args["proxy-port"] ?? DEFAULT_PROXY_PORT);
    if (!Number.isInteger(proxyPort) || proxyPort < 1 || proxyPort > 65535) usage(`--proxy-port must be 1-65535, got '${args["proxy-port"]}'`);
    const env = process.env;
    const doh = dohFromSettings(env.OPENSANDBOX_EGRESS_BLOCK_DOH_443, env[DOH_BLOCKLIST_ENV]);
    if (doh.stance === "strict") log.warn(STRICT_443_WARNING);
    // the same always lists serve would lay over this policy, so both render one ruleset
    const alwaysDir = args["always-rules-dir"] ?? (env.EGRESSCTL_ALWAYS_RULES_DIR || DEFAULT_ALWAYS_DIR);
    const always = action === "delete" ? null : readAlwaysRules(alwaysDir);
    if (always && !always.ok) usage(always.errors.map((e) => `cannot read ${e.path}: ${e.error}`).join("\n"));
    const up = parseUpstreamList(env.OPENSANDBOX_EGRESS_DNS_UPSTREAM ?? "");
    const exempt = nameserverExempt(env[NAMESERVER_EXEMPT_ENV]);
    const inbound = parseInboundFrom(args["inbound-from"] ?? env[INBOUND_ENV]);
    if ("error" in inbound) usage(`${args["inbound-from"] !== undefined ? "--inbound-from" : INBOUND_ENV}: ${inbound.error}`);
    const bad = [...doh.problems.map((p) => `${DOH_BLOCKLIST_ENV}: ${p}`), ...up.problems.map((p) => `OPENSANDBOX_EGRESS_DNS_UPSTREAM: ${p}`), ...exempt.problems];
    if (bad.length) usage(bad.join("\n"));

    const outcome = await applyPolicy(
      {
        action, mode, proxyPort, doh: doh.list, dohStance: doh.stance, upstreams: up.upstreams, nameserverExempt: exempt.list, inbound: inbound as InboundFrom,
        audit: !!args.audit, dropSilently: !!args["drop-silently"], allowHostNetwork: !!args["allow-host-network"],
        ...(file ? { text: readPolicy(file), source: file } : {}),
        ...(always?.ok ? { always: always.rules } : {}),
      },
      {
        // only the namespace signals are judged: no nftables check transaction is needed
        // (or wanted) before the refusal, so on the host nothing reaches the kernel
        // only the namespace's identity matters here: no nftables check transaction, and
        // no iptables listing (with iptables-nft that is a netlink conversation too)
        gatherFacts: () => gatherFacts({ openNftBackend: () => ({ unavailable: "not checked by apply" }), env: { ...process.env, EGRESSCTL_IPTABLES: "none" } }),
        openBackend: () => openNftBackend(),
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
