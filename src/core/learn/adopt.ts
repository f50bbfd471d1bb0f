// After a restart the kernel still holds the learned elements of the serve that died,
// each with the name it was learned under in its comment. Adopting them rebuilds the
// name table, so the starting policy (and every later reload) can prune by name. An
// element without a usable name cannot be judged: it is returned for removal with those
// of names the policy no longer allows (fail closed; the application resolves again),
// and so is one `admissible` rejects (serve: one that outlives the lifetime bound, or
// whose address the guard would not learn today, e.g. left by an older serve).
import type { LearnedAddress } from "../dns/answer.ts";
import type { LearnTable } from "./table.ts";

export interface AdoptableEntry {
  family: 4 | 6;
  address: string;
  name: string | null;
  expiresSec: number;
}

export function adoptLearned(
  entries: readonly AdoptableEntry[],
  table: LearnTable,
  isAllowed: (name: string) => boolean,
  now: number,
  admissible: (e: AdoptableEntry) => boolean = () => true,
): { adopted: number; remove: LearnedAddress[] } {
  // Those that cannot stay go straight to removal, not through the table: under one
  // placeholder name they would meet its per-name cap, and the evicted would stay.
  const out: LearnedAddress[] = [];
  for (const e of entries) {
    if (e.expiresSec <= 0) continue;
    if (e.name === null || !admissible(e)) out.push({ family: e.family, address: e.address });
    else table.add({ name: e.name, addresses: [{ family: e.family, address: e.address }], ttl: e.expiresSec }, now);
  }
  const remove = [...out, ...table.prune(isAllowed, now)];
  return { adopted: entries.length - remove.length, remove };
}
