// Turns serve's flags and environment into one ServeConfig. Pure: the caller passes
// process.env and the parsed flags. Flags win over environment (docs/serve.md, "Environment");
// the OPENSANDBOX_EGRESS_* names keep their OpenSandbox meaning.
import { DEFAULT_ALWAYS_DIR } from "../always/types.ts";
import { MODE_SPELLINGS, parseMode } from "../probe/modes.ts";
import { INBOUND_ANY, INBOUND_ENV, parseInboundFrom, type InboundFrom } from "../ruleset/inbound.ts";
import { DEFAULT_PROXY_PORT } from "../ruleset/names.ts";
import { envFlag } from "./env-flag.ts";
import { parseWebhookUrl, type WebhookUrl } from "../events/webhook.ts";
import { DEFAULT_MAX_ELEMENTS, DEFAULT_MAX_LIFETIME_SEC, MAX_ELEMENTS_RANGE, MAX_LIFETIME_RANGE, type LearnBounds } from "../learn/bounds.ts";
import type { PrivateAnswers } from "../learn/guard.ts";

export interface ServeFlags {
  file?: string;
  mode?: string;
  upstream?: string;
  dnsPort?: string;
  statusSocket?: string;
  readyFile?: string;
  audit?: boolean;
  dropSilently?: boolean;
  cleanupOnExit?: boolean;
  allowHostNetwork?: boolean;
  logFormat?: string;
  selftestInterval?: string;
  httpAddr?: string;
  insecureNoAuth?: boolean;
  alwaysRulesDir?: string;
  metricsAddr?: string;
  learnMaxTtl?: string;
  learnMaxElements?: string;
  inboundFrom?: string;
  allowLocalUpstream?: boolean;
}

/** where the policy HTTP API listens: host null = every address */
export interface HttpAddr {
  host: string | null;
  port: number;
}

export interface ServeConfig {
  policyFile?: string;
  envPolicyFile?: string;
  envRules?: string;
  mode: string; // "auto" or a mode name/alias, parsed by the probe's parseMode
  upstreamSpec?: string; // comma-separated literal addresses; resolv.conf when absent
  upstreamTimeoutMs: number;
  dnsPort: number;
  statusSocket: string;
  readyFile?: string;
  audit: boolean;
  dropSilently: boolean;
  cleanupOnExit: boolean;
  allowHostNetwork: boolean;
  dohBlocklist?: string;
  /** OPENSANDBOX_EGRESS_BLOCK_DOH_443, raw (doh.ts reads it with the blocklist) */
  blockDoh443?: string;
  /** OPENSANDBOX_EGRESS_DENY_WEBHOOK: where denied names are POSTed; undefined = nowhere */
  denyWebhook?: WebhookUrl;
  /** EGRESSCTL_WEBHOOK_CA_FILE: PEM the https receiver's certificate is verified against */
  webhookCaFile?: string;
  /** OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT, unparsed (start-plan reports bad entries) */
  nameserverExempt?: string;
  logFormat: "json" | "pretty";
  logLevel: string;
  sandboxId?: string;
  selftestIntervalMs: number;
  /** the policy HTTP API's address; null = the API is off */
  httpAddr: HttpAddr | null;
  /** OPENSANDBOX_EGRESS_TOKEN; undefined = no token */
  token?: string;
  /** mutating API requests without a token configured: allowed only with --insecure-no-auth */
  insecureNoAuth: boolean;
  /** OPENSANDBOX_EGRESS_MAX_RULES; 0 = no cap */
  maxRules: number;
  /** where deny.always, allow.always and log_skip.always are read from */
  alwaysRulesDir: string;
  /** settings read leniently, as OpenSandbox reads them: logged at start (config.warning) */
  warnings: string[];
  /** --metrics-addr / EGRESSCTL_METRICS_ADDR: /metrics and /healthz over TCP; null = off */
  metricsAddr: HttpAddr | null;
  /** how long a learned element lives at most, and how many each learned set holds */
  learnBounds: LearnBounds;
  /** EGRESSCTL_PRIVATE_ANSWERS: "guard" (default) never learns non-public answers; "learn" does */
  privateAnswers: PrivateAnswers;
  /** --inbound-from / EGRESSCTL_INBOUND_FROM: who may open flows into the sandbox and be answered */
  inbound: InboundFrom;
  /** --allow-local-upstream / EGRESSCTL_ALLOW_LOCAL_UPSTREAM: a configured upstream may be the namespace's own address */
  allowLocalUpstream: boolean;
}

export const DEFAULT_HTTP_ADDR = ":18080";
export const DEFAULT_MAX_RULES = 4096;

/**
 * `:PORT` (every address), `HOST:PORT`, `[V6]:PORT`; `off` (or set but empty) turns the
 * API off. A string (the error) when it is none of these.
 */
export function parseHttpAddr(spec: string): HttpAddr | null | string {
  const s = spec.trim();
  if (s === "" || s.toLowerCase() === "off") return null;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) return `the HTTP address must be :PORT, HOST:PORT, [IPv6]:PORT or off, got '${spec}'`;
  const host = m[1] ?? m[2] ?? "";
  return { host: host === "" ? null : host, port };
}

export const DEFAULT_STATUS_SOCKET = "/run/egressctl/egressctl.sock";

export type ConfigResult = { ok: true; config: ServeConfig } | { ok: false; error: string };

export function resolveServeConfig(flags: ServeFlags, env: Record<string, string | undefined>): ConfigResult {
  const errors: string[] = [];
  const num = (what: string, s: string | undefined, dflt: number, min: number, max: number, integer = false): number => {
    if (s === undefined || s === "") return dflt;
    const n = Number(s);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      errors.push(`${what} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}, got '${s}'`);
      return dflt;
    }
    return n;
  };

  const logFormat = flags.logFormat ?? "json";
  if (logFormat !== "json" && logFormat !== "pretty") errors.push(`--log-format must be json or pretty, got '${logFormat}'`);

  const config: ServeConfig = {
    policyFile: flags.file,
    envPolicyFile: env.OPENSANDBOX_EGRESS_POLICY_FILE || undefined,
    envRules: env.OPENSANDBOX_EGRESS_RULES,
    mode: (flags.mode ?? env.OPENSANDBOX_EGRESS_MODE ?? "auto").trim() || "auto",
    upstreamSpec: flags.upstream ?? (env.OPENSANDBOX_EGRESS_DNS_UPSTREAM || undefined),
    upstreamTimeoutMs: num("OPENSANDBOX_EGRESS_DNS_UPSTREAM_TIMEOUT", env.OPENSANDBOX_EGRESS_DNS_UPSTREAM_TIMEOUT, 2, 0.05, 60) * 1000,
    dnsPort: num("--dns-port", flags.dnsPort, DEFAULT_PROXY_PORT, 1, 65535, true),
    statusSocket: flags.statusSocket ?? env.EGRESSCTL_STATUS_SOCKET ?? DEFAULT_STATUS_SOCKET,
    readyFile: flags.readyFile,
    audit: flags.audit ?? false,
    dropSilently: flags.dropSilently ?? false,
    cleanupOnExit: flags.cleanupOnExit ?? false,
    // EGRESSCTL_ASSUME_SANDBOX is read once, by the probe's facts (assess honours it)
    allowHostNetwork: flags.allowHostNetwork ?? false,
    // set-but-empty is meaningful: it turns the built-in DoH list off
    dohBlocklist: env.OPENSANDBOX_EGRESS_DOH_BLOCKLIST,
    blockDoh443: env.OPENSANDBOX_EGRESS_BLOCK_DOH_443,
    nameserverExempt: env.OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT || undefined,
    logFormat: logFormat === "pretty" ? "pretty" : "json",
    logLevel: env.OPENSANDBOX_EGRESS_LOG_LEVEL ?? "info",
    sandboxId: env.OPENSANDBOX_EGRESS_SANDBOX_ID || undefined,
    selftestIntervalMs: num("--selftest-interval", flags.selftestInterval, 300, 1, 86_400) * 1000,
    httpAddr: null,
    token: env.OPENSANDBOX_EGRESS_TOKEN || undefined,
    insecureNoAuth: flags.insecureNoAuth ?? false,
    maxRules: DEFAULT_MAX_RULES,
    alwaysRulesDir: flags.alwaysRulesDir ?? (env.EGRESSCTL_ALWAYS_RULES_DIR || DEFAULT_ALWAYS_DIR),
    warnings: [],
    metricsAddr: null,
    learnBounds: {
      maxLifetimeSec: num(flags.learnMaxTtl !== undefined ? "--learn-max-ttl" : "EGRESSCTL_LEARN_MAX_TTL", flags.learnMaxTtl ?? env.EGRESSCTL_LEARN_MAX_TTL, DEFAULT_MAX_LIFETIME_SEC, ...MAX_LIFETIME_RANGE, true),
      maxElements: num(flags.learnMaxElements !== undefined ? "--learn-max-elements" : "EGRESSCTL_LEARN_MAX_ELEMENTS", flags.learnMaxElements ?? env.EGRESSCTL_LEARN_MAX_ELEMENTS, DEFAULT_MAX_ELEMENTS, ...MAX_ELEMENTS_RANGE, true),
    },
    privateAnswers: "guard",
    inbound: INBOUND_ANY,
    allowLocalUpstream: flags.allowLocalUpstream ?? envFlag(env.EGRESSCTL_ALLOW_LOCAL_UPSTREAM, false),
  };
  const pa = (env.EGRESSCTL_PRIVATE_ANSWERS ?? "").trim();
  if (pa === "learn" || pa === "guard") config.privateAnswers = pa;
  else if (pa !== "") errors.push(`EGRESSCTL_PRIVATE_ANSWERS must be guard or learn, got '${env.EGRESSCTL_PRIVATE_ANSWERS}'`);
  // OpenSandbox starts with a mode it cannot read (it falls back to dns-only); egressctl
  // too, falling back to auto, the strongest the namespace allows. A --mode it cannot
  // read is a usage error (exit 2, in start-plan): the flag is egressctl's own.
  if (flags.mode === undefined && env.OPENSANDBOX_EGRESS_MODE !== undefined && parseMode(env.OPENSANDBOX_EGRESS_MODE) === null) {
    config.warnings.push(`OPENSANDBOX_EGRESS_MODE '${env.OPENSANDBOX_EGRESS_MODE}' is not a mode (${MODE_SPELLINGS.join(", ")}, or dns and nft joined by +); using auto`);
    config.mode = "auto";
  }
  const max = maxRulesFrom(env.OPENSANDBOX_EGRESS_MAX_RULES);
  config.maxRules = max.value;
  if (max.warning) config.warnings.push(max.warning);
  const inbound = parseInboundFrom(flags.inboundFrom ?? env[INBOUND_ENV]);
  if ("error" in inbound) errors.push(`${flags.inboundFrom !== undefined ? "--inbound-from" : INBOUND_ENV}: ${inbound.error}`);
  else config.inbound = inbound;
  const hook = env.OPENSANDBOX_EGRESS_DENY_WEBHOOK?.trim();
  if (hook) {
    const u = parseWebhookUrl(hook);
    if (typeof u === "string") errors.push(`OPENSANDBOX_EGRESS_DENY_WEBHOOK: ${u}`);
    else config.denyWebhook = u;
  }
  config.webhookCaFile = env.EGRESSCTL_WEBHOOK_CA_FILE || undefined;
  const addr = parseHttpAddr(flags.httpAddr ?? env.OPENSANDBOX_EGRESS_HTTP_ADDR ?? DEFAULT_HTTP_ADDR);
  if (typeof addr === "string") errors.push(flags.httpAddr !== undefined ? `--http-addr: ${addr}` : `OPENSANDBOX_EGRESS_HTTP_ADDR: ${addr}`);
  else config.httpAddr = addr;
  // off unless asked for: a TCP listener in the sandbox's namespace is reachable by the application
  const metrics = parseHttpAddr(flags.metricsAddr ?? env.EGRESSCTL_METRICS_ADDR ?? "off");
  if (typeof metrics === "string") errors.push(`${flags.metricsAddr !== undefined ? "--metrics-addr" : "EGRESSCTL_METRICS_ADDR"}: ${metrics.replace("HTTP address", "metrics address")}`);
  else config.metricsAddr = metrics;
  if (config.metricsAddr && config.httpAddr && config.metricsAddr.port === config.httpAddr.port) errors.push(`the metrics address and the policy API cannot share port ${config.metricsAddr.port}`);
  return errors.length ? { ok: false, error: errors.join("; ") } : { ok: true, config };
}

/**
 * OPENSANDBOX_EGRESS_MAX_RULES as OpenSandbox reads it: a whole number, 0 = no cap;
 * anything else (not a number, negative) is the default, 4096, with a warning rather
 * than a refusal to start.
 */
export function maxRulesFrom(raw: string | undefined): { value: number; warning?: string } {
  const s = (raw ?? "").trim();
  if (s === "") return { value: DEFAULT_MAX_RULES };
  if (/^\+?\d+$/.test(s) && Number.isSafeInteger(Number(s))) return { value: Number(s) };
  return { value: DEFAULT_MAX_RULES, warning: `OPENSANDBOX_EGRESS_MAX_RULES '${raw}' is not a whole number of 0 or more; using ${DEFAULT_MAX_RULES}` };
}
