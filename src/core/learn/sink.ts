// Composes the proxy's learn sink from the table and a kernel writer: record the batch,
// then hand the kernel the elements with their effective timeouts. The kernel write (a
// promise, or nothing when the kernel already holds them) is what the proxy awaits
// before answering; if it fails the batch stays in the table (the
// elements may or may not be in the kernel; a later prune treats them as present, and a
// delete of an absent element is the adapter's to tolerate).
import type { LearnBatch, LearnElement, LearnSink, LearnTable } from "./table.ts";

export function tableSink(table: LearnTable, write: (elements: LearnElement[], name: string) => Promise<void> | void, now: () => number): LearnSink {
  return (batch: LearnBatch) => {
    if (batch.addresses.length === 0) return;
    return write(table.add(batch, now()), batch.name);
  };
}
