// The names egressctl itself asks for to prove the redirect holds: serve's self-test and
// doctor send a query for `<random>.egressctl.invalid` from an ordinary socket. `.invalid`
// (RFC 6761) never resolves, so nothing meaningful leaks if the redirect is missing.
// Such a query must be answered by the proxy itself, with the "blocked by egressctl"
// EDE, whenever the policy denies it, audit mode included: that answer is the proof.
// They are expected denials, not violations.
export const PROBE_SUFFIX = ".egressctl.invalid";

export const isProbeName = (name: string): boolean => name.endsWith(PROBE_SUFFIX);
