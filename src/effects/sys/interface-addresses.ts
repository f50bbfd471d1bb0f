// The addresses of this network namespace's interfaces (getifaddrs, through Node's os
// module), for refusing an upstream resolver that is the namespace itself.
import { networkInterfaces } from "node:os";

export function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}
