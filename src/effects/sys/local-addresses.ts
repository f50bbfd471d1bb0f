// Reads the namespace's own addresses and gateways from /proc/net (as seen by this
// process, so in serve's network namespace) for the address guard. Parsing is
// src/core/net/local-addresses.ts. A file that cannot be read counts as empty: the
// guard's table of non-public ranges still applies; the error is reported.
import { readFileSync } from "node:fs";
import { endianness } from "node:os";
import { parseLocalAddresses } from "../../core/net/local-addresses.ts";
import type { LocalAddresses } from "../../core/net/special.ts";

export function readLocalAddresses(root = "/proc/net"): { local: LocalAddresses; errors: string[] } {
  const errors: string[] = [];
  const read = (f: string) => {
    try {
      return readFileSync(`${root}/${f}`, "utf8");
    } catch (e) {
      // if_inet6 and ipv6_route are absent where IPv6 is disabled: nothing to read then
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || !f.includes("6")) errors.push(`${root}/${f}: ${(e as Error).message}`);
      return "";
    }
  };
  const local = parseLocalAddresses({
    fibTrie: read("fib_trie"),
    ifInet6: read("if_inet6"),
    route: read("route"),
    ipv6Route: read("ipv6_route"),
    littleEndian: endianness() === "LE",
  });
  return { local, errors };
}
