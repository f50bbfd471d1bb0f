// Turns serve's flags and environment into one ServeConfig. Pure: the caller passes
// process.env and the parsed flags. Flags win over environment (CONTRACT section 6);
// the OPENSANDBOX_EGRESS_* names keep their OpenSandbox meaning.
import { DEFAULT_PROXY_PORT } from "../ruleset/names.ts";
import { envFlag } from "./env-flag.ts";

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
  blockDoh443: boolean;
  logFormat: "json" | "pretty";
  logLevel: string;
  sandboxId?: string;
  selftestIntervalMs: number;
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
    blockDoh443: envFlag(env.OPENSANDBOX_EGRESS_BLOCK_DOH_443, true),
    logFormat: logFormat === "pretty" ? "pretty" : "json",
    logLevel: env.OPENSANDBOX_EGRESS_LOG_LEVEL ?? "info",
    sandboxId: env.OPENSANDBOX_EGRESS_SANDBOX_ID || undefined,
    selftestIntervalMs: num("--selftest-interval", flags.selftestInterval, 300, 1, 86_400) * 1000,
  };
  return errors.length ? { ok: false, error: errors.join("; ") } : { ok: true, config };
}
