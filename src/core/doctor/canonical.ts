// One spelling per address, so that serve's table, the kernel's elements and the
// argument compare equal however each wrote it (2001:db8:100:0::10 is 2001:db8:100::10).
import { formatAddress, parseAddress } from "../net/ip.ts";

/** the canonical form of an address; anything else unchanged */
export function canonical(s: string): string {
  const a = parseAddress(s);
  return a ? formatAddress(a.family, a.value) : s;
}
