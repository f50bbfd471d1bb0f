// Classifies one rule target (docs/policy.md, "Targets"): exact name, `*.` wildcard, IPv4/IPv6
// address or CIDR. Each mistake people really make (URLs, ports, paths, brackets,
// leading zeros, inner `*`) gets its own message and a fix, because "invalid target"
// alone sends the user hunting.
import { BITS, formatAddress, formatCidr, parseAddress, parseCidr, type Cidr } from "../net/ip.ts";
import type { TargetKind } from "./types.ts";
import { checkName } from "./name.ts";

export type ParsedTarget =
  | { kind: TargetKind; target: string; name?: string; cidr?: Cidr }
  | { error: string; hint?: string };

export function parseTarget(raw: string): ParsedTarget {
  if (raw.trim() === "") return { error: "target is empty", hint: "write a name such as api.github.com, *.pypi.org, an address or a CIDR" };
  if (/\s/.test(raw)) return { error: `target "${raw}" contains whitespace`, hint: `write one target per rule, without spaces: "${raw.trim().split(/\s+/)[0]}"` };
  if (raw.includes("://")) {
    const host = raw.split("://")[1]!.split(/[/?#]/)[0]!.replace(/:\d+$/, "");
    return { error: `target "${raw}" is a URL`, hint: `write only the host name: "${host}"` };
  }
  if (raw.startsWith("[")) {
    const inner = raw.slice(1).split("]")[0]!;
    return { error: `target "${raw}" has brackets`, hint: `write the IPv6 address without brackets or port: "${inner}"` };
  }
  if (raw.includes("/")) return parseSlashed(raw);
  if (raw.includes(":")) return parseColon(raw);
  if (/^[0-9.]+$/.test(raw)) {
    const a = parseAddress(raw);
    if (a) return address(raw);
    const zeros = raw.split(".").some((p) => /^0[0-9]/.test(p));
    return zeros
      ? { error: `"${raw}" has an octet with a leading zero`, hint: "leading zeros are ambiguous (octal or decimal?); remove them" }
      : { error: `"${raw}" is not a valid IPv4 address`, hint: "an IPv4 address is four numbers 0–255 separated by dots" };
  }
  if (raw.includes("*")) return parseWildcard(raw);
  const n = checkName(raw);
  return "error" in n ? n : { kind: "exact", target: n.name, name: n.name };
}

function address(raw: string): ParsedTarget {
  const c = parseCidr(raw)!;
  return { kind: "address", target: formatAddress(c.family, c.network), cidr: c };
}

function parseSlashed(raw: string): ParsedTarget {
  const c = parseCidr(raw);
  if (c) return { kind: "cidr", target: formatCidr(c), cidr: c };
  const [left, prefix] = [raw.slice(0, raw.indexOf("/")), raw.slice(raw.indexOf("/") + 1)];
  const a = parseAddress(left);
  if (a) {
    return { error: `"/${prefix}" is not a valid ${a.family === 4 ? "IPv4" : "IPv6"} prefix length`, hint: `use a whole number from 0 to ${BITS[a.family]}` };
  }
  if (/^[0-9.]+$/.test(left) || left.includes(":")) return { error: `"${left}" is not a valid IP address`, hint: "a CIDR is an address, a slash and a prefix length: 10.0.0.0/8" };
  return { error: `target "${raw}" has a path`, hint: `rules match host names only; write "${left}"` };
}

function parseColon(raw: string): ParsedTarget {
  if (parseAddress(raw)) return address(raw);
  if (raw.includes("%")) return { error: `"${raw}" has an IPv6 zone id`, hint: `zone ids are not allowed; write "${raw.split("%")[0]}"` };
  const m = /^([^:]+):(\d*)$/.exec(raw);
  if (m) return { error: `target "${raw}" has a port`, hint: `rules match every port; write "${m[1]}"` };
  return { error: `"${raw}" is not a valid IPv6 address`, hint: "check the groups: at most eight groups of up to four hex digits, one \"::\" at most" };
}

function parseWildcard(raw: string): ParsedTarget {
  if (raw === "*" || raw === "*.") {
    return { error: "a bare * would match every name", hint: "to allow everything not denied, set defaultAction: allow" };
  }
  const rest = raw.slice(2);
  if (!raw.startsWith("*.") || rest.includes("*")) {
    return { error: `"*" in "${raw}" is not the whole leftmost label`, hint: "a wildcard is only valid as \"*.\" at the start, as in *.example.com (it matches any depth below)" };
  }
  const n = checkName(rest);
  if ("error" in n) return n;
  return { kind: "wildcard", target: `*.${n.name}`, name: n.name };
}
