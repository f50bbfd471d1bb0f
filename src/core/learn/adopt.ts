// After a restart the kernel still holds the learned elements of the serve that died,
// each with the name it was learned under in its comment. Adopting them rebuilds the
// name table, so the starting policy (and every later reload) can prune by name. An
// element without a usable name cannot be judged: it is returned for removal with those
// of names the policy no longer allows (fail closed; the application resolves again).
import type { LearnedAddress } from "../dns/answer.ts";
import type { LearnTable } from "./table.ts";

export interface AdoptableEntry {
  family: 4 | 6;
  address: string;
  name: string | null;
  expiresSec: number;
}

/** a name no policy can allow (names never start with a dot) */
const UNKNOWN = ".unknown";

export function adoptLearned(
  entries: readonly AdoptableEntry[],
  table: LearnTable,
  isAllowed: (name: string) => boolean,
  now: number,
): { adopted: number; remove: LearnedAddress[] } {
  for (const e of entries) {
    if (e.expiresSec <= 0) continue;
    table.add({ name: e.name ?? UNKNOWN, addresses: [{ family: e.family, address: e.address }], ttl: e.expiresSec }, now);
  }
  const remove = table.prune((name) => name !== UNKNOWN && isAllowed(name), now);
  return { adopted: entries.length - remove.length, remove };
}
