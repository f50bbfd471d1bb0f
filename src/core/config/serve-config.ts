// Turns serve's flags and environment into one ServeConfig. Pure: the command passes
// the environment and the parsed flags. Flags win over environment (docs/serve.md, "Environment");
// the OPENSANDBOX_EGRESS_* names keep their OpenSandbox meaning.
import { MODE_SPELLINGS, parseMode } from "../probe/modes.ts";
import { envFlag } from "./env-flag.ts";
import type { PrivateAnswers } from "../learn/guard.ts";
import { kernelSettings, type KernelSettings } from "./kernel-settings.ts";
import { numberSetting } from "./number-setting.ts";
import { resolveRulesetSettings, type RulesetFlags, type RulesetSettings } from "./ruleset-settings.ts";

export interface ServeFlags extends RulesetFlags {
  file?: string;
  mode?: string;
  statusSocket?: string;
  readyFile?: string;
  cleanupOnExit?: boolean;
  allowHostNetwork?: boolean;
  logFormat?: string;
  selftestInterval?: string;
  httpAddr?: string;
  insecureNoAuth?: boolean;
  metricsAddr?: string;
  allowLocalUpstream?: boolean;
}

/** where the policy HTTP API listens: host null = every address */
export interface HttpAddr {
  host: string | null;
  port: number;
}

/**
 * serve's whole configuration: what shapes the ruleset (shared with apply), how the
 * kernel is reached (shared with probe, apply and doctor), and serve's own settings.
 */
export interface ServeConfig extends RulesetSettings {
  policyFile?: string;
  envPolicyFile?: string;
  envRules?: string;
  mode: string; // "auto" or a mode name/alias, parsed by the probe's parseMode
  upstreamTimeoutMs: number;
  statusSocket: string;
  readyFile?: string;
  cleanupOnExit: boolean;
  allowHostNetwork: boolean;
  /** EGRESSCTL_WEBHOOK_CA_FILE: PEM the https receiver's certificate is verified against */
  webhookCaFile?: string;
  kernel: KernelSettings;
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
  /** settings read leniently, as OpenSandbox reads them: logged at start (config.warning) */
  warnings: string[];
  /** --metrics-addr / EGRESSCTL_METRICS_ADDR: /metrics and /healthz over TCP; null = off */
  metricsAddr: HttpAddr | null;
  /** EGRESSCTL_PRIVATE_ANSWERS: "guard" (default) never learns non-public answers; "learn" does */
  privateAnswers: PrivateAnswers;
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

/** --status-socket (serve), --socket (doctor, wait), else EGRESSCTL_STATUS_SOCKET */
export function statusSocketFrom(flag: string | undefined, env: Record<string, string | undefined>): string {
  return flag ?? env.EGRESSCTL_STATUS_SOCKET ?? DEFAULT_STATUS_SOCKET;
}

export type ConfigResult = { ok: true; config: ServeConfig } | { ok: false; error: string };

export function resolveServeConfig(flags: ServeFlags, env: Record<string, string | undefined>): ConfigResult {
  const errors: string[] = [];
  const num = (what: string, v: string | undefined, dflt: number, min: number, max: number, integer = false) => numberSetting(errors, what, v, dflt, min, max, integer);
  const ruleset = resolveRulesetSettings(flags, env, errors);

  const logFormat = flags.logFormat ?? "json";
  if (logFormat !== "json" && logFormat !== "pretty") errors.push(`--log-format must be json or pretty, got '${logFormat}'`);

  const config: ServeConfig = {
    ...ruleset,
    kernel: kernelSettings(env),
    policyFile: flags.file,
    envPolicyFile: env.OPENSANDBOX_EGRESS_POLICY_FILE || undefined,
    envRules: env.OPENSANDBOX_EGRESS_RULES,
    mode: (flags.mode ?? env.OPENSANDBOX_EGRESS_MODE ?? "auto").trim() || "auto",
    upstreamTimeoutMs: num("OPENSANDBOX_EGRESS_DNS_UPSTREAM_TIMEOUT", env.OPENSANDBOX_EGRESS_DNS_UPSTREAM_TIMEOUT, 2, 0.05, 60) * 1000,
    statusSocket: statusSocketFrom(flags.statusSocket, env),
    readyFile: flags.readyFile,
    cleanupOnExit: flags.cleanupOnExit ?? false,
    // EGRESSCTL_ASSUME_SANDBOX is read once, by the probe's facts (assess honours it)
    allowHostNetwork: flags.allowHostNetwork ?? false,
    logFormat: logFormat === "pretty" ? "pretty" : "json",
    logLevel: env.OPENSANDBOX_EGRESS_LOG_LEVEL ?? "info",
    sandboxId: env.OPENSANDBOX_EGRESS_SANDBOX_ID || undefined,
    selftestIntervalMs: num("--selftest-interval", flags.selftestInterval, 300, 1, 86_400) * 1000,
    httpAddr: null,
    token: env.OPENSANDBOX_EGRESS_TOKEN || undefined,
    insecureNoAuth: flags.insecureNoAuth ?? false,
    maxRules: DEFAULT_MAX_RULES,
    warnings: [],
    metricsAddr: null,
    privateAnswers: "guard",
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
