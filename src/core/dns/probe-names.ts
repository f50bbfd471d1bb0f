// The names egressctl itself asks for to prove the redirect holds: serve's self-test and
// doctor send a query for `<random>.egressctl.invalid` from an ordinary socket. `.invalid`
// (RFC 6761) never resolves, so nothing meaningful leaks if the redirect is missing.
// Such a query must be answered by the proxy itself, with the "blocked by egressctl"
// EDE, whenever the policy denies it, audit mode included: that answer is the proof.
// They are expected denials, not violations.
export const PROBE_SUFFIX = ".egressctl.invalid";

export const isProbeName = (name: string): boolean => name.endsWith(PROBE_SUFFIX);

/**
 * where a probe goes when every upstream is exempt: a documentation address (RFC 5737,
 * RFC 3849) of the upstreams' family, so that an IPv6-only namespace can send it too
 */
export const FALLBACK_PROBE_TARGET = { 4: { family: 4, address: "192.0.2.53" }, 6: { family: 6, address: "2001:db8::53" } } as const;

/**
 * Where to send a probe so that it meets the redirect as an application's query would:
 * the first upstream that is not an exempt nameserver (DNS to those is let out
 * unredirected on purpose, so a probe there would prove nothing), else a documentation
 * address of the first upstream's family. `isExempt` says whether an address is one of them.
 */
export function probeTarget<T extends { family: 4 | 6; address: string }>(
  upstreams: readonly T[],
  isExempt: (address: string) => boolean,
): T | (typeof FALLBACK_PROBE_TARGET)[4 | 6] {
  return upstreams.find((u) => !isExempt(u.address)) ?? FALLBACK_PROBE_TARGET[upstreams[0]?.family ?? 4];
}
