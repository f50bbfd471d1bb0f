// iptables facts, for the DNS-only fallback (a nat-table redirect of port 53). Reads
// only: with the nft variant, `iptables -t nat -L -n` lists without creating anything;
// with the legacy variant, listing would instantiate an empty nat table in this
// namespace (visible, and hooks attached), so it is listed only if it already exists.
import type { KernelSettings } from "../../core/config/kernel-settings.ts";
import type { IptablesFacts } from "../../core/probe/types.ts";
import { firstLine, readText, run, which } from "./read.ts";

export function iptablesFacts(env: Pick<KernelSettings, "iptables" | "path">): IptablesFacts {
  if (env.iptables === "none") {
    return { available: false, variant: null, natUsable: false, error: "unavailable (disabled by EGRESSCTL_IPTABLES=none)" };
  }
  const path = which("iptables", env.path);
  if (!path) return { available: false, variant: null, natUsable: false, error: "no iptables binary on PATH" };
  const v = run([path, "-V"]);
  const version = v.ok ? v.value.stdout + v.value.stderr : "";
  const variant = /nf_tables/.test(version) ? "nft" : /legacy/.test(version) ? "legacy" : null;
  if (variant === "legacy") {
    const names = readText("/proc/net/ip_tables_names");
    if (!(names.ok && names.value.split("\n").includes("nat"))) {
      return { available: true, path, variant, natUsable: true, note: "legacy nat table not listed (listing would create it); assumed usable" };
    }
  }
  const list = run([path, "-t", "nat", "-L", "-n"]);
  if (!list.ok) return { available: true, path, variant, natUsable: false, error: list.error };
  if (list.value.code !== 0) {
    const why = firstLine(list.value.stderr) || `exit ${list.value.code ?? "timeout"}`;
    return { available: true, path, variant, natUsable: false, error: why };
  }
  return { available: true, path, variant, natUsable: true };
}
