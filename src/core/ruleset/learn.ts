// Text for adding and removing learned addresses, one transaction per batch. The serve
// path calls this per DNS answer, so it stays a plain string join. On Linux >= 6.10
// re-adding an existing element with a new timeout refreshes its expiry (FACTS.md).
import { LEARNED_V4, LEARNED_V6 } from "./names.ts";
import { T } from "./render.ts";

export interface LearnedElement {
  family: 4 | 6;
  address: string;
  timeoutSec: number;
}

const setOf = (f: 4 | 6) => (f === 4 ? LEARNED_V4 : LEARNED_V6);

function byFamily<E extends { family: 4 | 6 }>(els: readonly E[], line: (set: string, items: E[]) => string): string {
  let out = "";
  for (const f of [4, 6] as const) {
    const items = els.filter((e) => e.family === f);
    if (items.length) out += line(setOf(f), items) + "\n";
  }
  return out;
}

/** `add element` lines (at most one per family); "" for an empty batch. */
export function renderLearn(elements: readonly LearnedElement[]): string {
  return byFamily(elements, (set, items) =>
    `add element ${T} ${set} { ${items.map((e) => `${e.address} timeout ${Math.max(1, Math.round(e.timeoutSec))}s`).join(", ")} }`,
  );
}

/**
 * Removes learned addresses. `delete element` of an absent element fails the whole
 * batch (ENOENT), so each element is first added (with a 1 s timeout: if the delete were
 * ever skipped it vanishes by itself) and then deleted.
 */
export function renderForget(elements: readonly { family: 4 | 6; address: string }[]): string {
  return byFamily(elements, (set, items) => {
    const list = items.map((e) => e.address).join(", ");
    return `add element ${T} ${set} { ${items.map((e) => `${e.address} timeout 1s`).join(", ")} }\ndelete element ${T} ${set} { ${list} }`;
  });
}
