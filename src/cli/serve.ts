// `egressctl serve [FILE]`: resolve flags and environment, run the serve use case, exit
// with its code. Everything else lives in src/app/serve/.
import { defineCommand } from "citty";
import { resolveServeConfig } from "../core/config/serve-config.ts";
import { createEventLog } from "../effects/log/events.ts";
import { ActionableError, Exit } from "./exit.ts";

export default defineCommand({
  meta: {
    name: "serve",
    description: `Run the sidecar: DNS proxy, learning into nftables, status socket, reload.

Policy comes from FILE, else OPENSANDBOX_EGRESS_POLICY_FILE (when valid), else
OPENSANDBOX_EGRESS_RULES, else deny-all. SIGHUP or a change of the file reloads it.
The policy HTTP API (GET/POST/PUT/PATCH/DELETE /policy) listens on --http-addr.
SIGTERM stops serve and leaves the ruleset in force unless --cleanup-on-exit.
Each denied name is POSTed to OPENSANDBOX_EGRESS_DENY_WEBHOOK (http:// or https://;
EGRESSCTL_WEBHOOK_CA_FILE for a private CA). DNS to OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT
addresses (port 53) goes out unjudged. The operator's always lists deny.always,
allow.always and log_skip.always are read from --always-rules-dir (default
/var/egress/rules) and re-read within seconds of a change: docs/always-rules.md.
Answers naming non-public addresses (private, loopback, link-local, this namespace's
own) are passed on but not learned unless an address rule allows them
(EGRESSCTL_PRIVATE_ANSWERS=learn learns them all). Without --upstream, the upstreams
recorded in the kernel by an earlier serve are kept; resolv.conf is read only at the
first start. --inbound-from (EGRESSCTL_INBOUND_FROM) names who may open flows into the
sandbox and be answered. The whole environment: docs/serve.md.

Examples:
  egressctl serve policy.yaml
  egressctl serve --mode dns-only --upstream 192.0.2.53 policy.yaml
  OPENSANDBOX_EGRESS_RULES='{"defaultAction":"deny","egress":[{"action":"allow","target":"*.pypi.org"}]}' egressctl serve
  egressctl serve --ready-file /run/egressctl/ready --log-format pretty policy.yaml
  egressctl serve --metrics-addr :9090 /etc/egressctl/policy/policy.yaml
  egressctl serve --upstream 192.0.2.53 --inbound-from 192.0.2.0/24 policy.yaml`,
  },
  args: {
    file: { type: "positional", required: false, description: "policy file (YAML or JSON)" },
    mode: { type: "string", description: "auto | disabled | dns-only | dns+nftables (also dns, dns+nft); default auto or OPENSANDBOX_EGRESS_MODE" },
    upstream: { type: "string", description: "upstream resolvers, comma-separated literal addresses with optional port; default OPENSANDBOX_EGRESS_DNS_UPSTREAM, else the set recorded in the kernel, else /etc/resolv.conf" },
    "dns-port": { type: "string", description: "port of the DNS proxy on 127.0.0.1 and ::1 (default 15353)" },
    "status-socket": { type: "string", description: "Unix socket of the status API (default /run/egressctl/egressctl.sock)" },
    "ready-file": { type: "string", description: "written once the proxy listens and the ruleset is loaded; removed on exit" },
    audit: { type: "boolean", description: "log every denial but let traffic through (for rolling out a policy)" },
    "drop-silently": { type: "boolean", description: "drop denied packets instead of rejecting them" },
    "cleanup-on-exit": { type: "boolean", description: "remove the ruleset on SIGTERM (default: leave it in force)" },
    "allow-host-network": { type: "boolean", description: "run even where the namespace looks like the host's" },
    "log-format": { type: "string", description: "json (default) or pretty" },
    "selftest-interval": { type: "string", description: "seconds between self-tests (default 300)" },
    "http-addr": { type: "string", description: "policy HTTP API address: :PORT, HOST:PORT, [IPv6]:PORT or off (default OPENSANDBOX_EGRESS_HTTP_ADDR, else :18080)" },
    "always-rules-dir": { type: "string", description: "directory of deny.always, allow.always and log_skip.always (default EGRESSCTL_ALWAYS_RULES_DIR, else /var/egress/rules)" },
    "metrics-addr": { type: "string", description: "serve /metrics and /healthz (read-only) over TCP at :PORT, HOST:PORT or [IPv6]:PORT, for Prometheus and probes (default off, or EGRESSCTL_METRICS_ADDR)" },
    "allow-local-upstream": { type: "boolean", description: "accept a configured upstream on this namespace's own address (loopback included): the application could answer in its place (default EGRESSCTL_ALLOW_LOCAL_UPSTREAM)" },
    "inbound-from": { type: "string", description: "who may open flows into the sandbox and be answered: any (default), none, or comma-separated CIDRs (default EGRESSCTL_INBOUND_FROM)" },
    "insecure-no-auth": { type: "boolean", description: "without OPENSANDBOX_EGRESS_TOKEN, still allow POST/PUT/PATCH/DELETE on the policy API (the sandboxed application could rewrite its own policy)" },
    "learn-max-ttl": { type: "string", description: "seconds a learned address stays open at most, whatever its TTL (default 3600, or EGRESSCTL_LEARN_MAX_TTL)" },
    "learn-max-elements": { type: "string", description: "learned addresses per family at most; beyond, answers with new addresses are SERVFAIL (default 65536, or EGRESSCTL_LEARN_MAX_ELEMENTS)" },
  },
  async run({ args }) {
    const r = resolveServeConfig(
      {
        file: args.file,
        mode: args.mode,
        upstream: args.upstream,
        dnsPort: args["dns-port"],
        statusSocket: args["status-socket"],
        readyFile: args["ready-file"],
        audit: args.audit,
        dropSilently: args["drop-silently"],
        cleanupOnExit: args["cleanup-on-exit"],
        allowHostNetwork: args["allow-host-network"],
        logFormat: args["log-format"],
        selftestInterval: args["selftest-interval"],
        httpAddr: args["http-addr"],
        insecureNoAuth: args["insecure-no-auth"],
        alwaysRulesDir: args["always-rules-dir"],
        metricsAddr: args["metrics-addr"],
        learnMaxTtl: args["learn-max-ttl"],
        learnMaxElements: args["learn-max-elements"],
        inboundFrom: args["inbound-from"],
        allowLocalUpstream: args["allow-local-upstream"],
      },
      process.env,
    );
    if (!r.ok) throw new ActionableError(r.error, Exit.usage);
    const log = createEventLog({ format: r.config.logFormat, level: r.config.logLevel, sandboxId: r.config.sandboxId });
    const { serve } = await import("../app/serve/serve.ts");
    process.exit(await serve(r.config, log));
  },
});
