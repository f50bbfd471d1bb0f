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
  const a = new Adoption(table, now, admissible);
  a.take(entries);
  return a.finish(isAllowed);
}

/**
 * The same in steps, for a caller that gives the event loop a turn between slices of a
 * large set (serve at start: DNS is answered meanwhile): `take` as many times as there
 * are slices, then `finish` once.
 */
export class Adoption {
  // Those that cannot stay go straight to removal, not through the table: under one
  // placeholder name they would meet its per-name cap, and the evicted would stay.
  private out: LearnedAddress[] = [];
  private seen = 0;

  constructor(
    private readonly table: LearnTable,
    private readonly now: number,
    private readonly admissible: (e: AdoptableEntry) => boolean = () => true,
  ) {}

  take(entries: readonly AdoptableEntry[]): void {
    this.seen += entries.length;
    for (const e of entries) {
      if (e.expiresSec <= 0) continue;
      if (e.name === null || !this.admissible(e)) this.out.push({ family: e.family, address: e.address });
      else this.table.adopt(e.name, e, this.now + e.expiresSec * 1000);
    }
  }

  finish(isAllowed: (name: string) => boolean): { adopted: number; remove: LearnedAddress[] } {
    const { table, now } = this;
    // an address an answer learned meanwhile (adoption reads while DNS is answered) is
    // the table's now, with a bounded lifetime: it stays
    const remove = [...this.out.filter((a) => table.namesOf(a.address, now).length === 0), ...table.prune(isAllowed, now)];
    return { adopted: this.seen - remove.length, remove };
  }
}
