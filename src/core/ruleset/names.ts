// Names and numbers shared by the ruleset, the kernel backend and the DNS proxy.
// Changing any of them changes the kernel state that a running serve adopts on restart,
// so treat them as part of the on-kernel format.

/** the one table egressctl owns (CONTRACT section 5) */
export const TABLE_FAMILY = "inet";
export const TABLE_NAME = "egressctl";

/** timed sets of addresses learned from DNS answers to allowed names */
export const LEARNED_V4 = "learned4";
export const LEARNED_V6 = "learned6";

/**
 * Packet mark carried by the proxy's own upstream sockets (SO_MARK), exempting them
 * from the port-53 redirect. Setting SO_MARK needs CAP_NET_ADMIN, which the sandboxed
 * application does not hold (docs/security.md).
 */
export const EXEMPT_MARK = 0x45474c; // "EGL"

/** where the DNS proxy listens; the redirect sends every port-53 packet here */
export const DEFAULT_PROXY_PORT = 15353;

/** learned elements live at least this long, and at most this long (seconds) */
export const LEARN_TTL_MIN = 60;
export const LEARN_TTL_MAX = 86_400;
