// Text for adding and removing learned addresses, one transaction per batch. The serve
// path calls this per DNS answer, so it stays a plain string join. On Linux >= 6.10
// re-adding an existing element with a new timeout refreshes its expiry (docs/serve.md, "Learning").
import { LEARNED_V4, LEARNED_V6 } from "./names.ts";
import { T } from "./render.ts";

export interface LearnedElement {
  family: 4 | 6;
  address: string;
  timeoutSec: number;
}

/** nft refuses comments over 128 bytes; such a name is left out (adopted as unknown). */
export const MAX_COMMENT = 128;

const setOf = (f: 4 | 6) => (f === 4 ? LEARNED_V4 : LEARNED_V6);

function byFamily<E extends { family: 4 | 6 }>(els: readonly E[], line: (set: string, items: E[]) => string): string {
  let out = "";
  for (const f of [4, 6] as const) {
    const items = els.filter((e) => e.family === f);
    if (items.length) out += line(setOf(f), items) + "\n";
  }
  return out;
}

/**
 * `add element` lines (at most one per family); "" for an empty batch. `name`, the name
 * the batch was learned under, becomes each element's comment, so a restarted serve can
 * tell which name an adopted address belongs to (docs/serve.md). The kernel keeps the
 * first comment an element got; a later re-add only refreshes the timeout.
 */
export function renderLearn(elements: readonly LearnedElement[], name?: string, opts: { replace?: boolean } = {}): string {
  const comment = commentOf(name);
  return byFamily(elements, (set, items) => {
    const add = `add element ${T} ${set} { ${items.map((e) => `${e.address} timeout ${Math.max(1, Math.round(e.timeoutSec))}s${comment}`).join(", ")} }`;
    // Kernels before 6.10 ignore the timeout of a re-added element, so a refresh would be
    // lost: there each element is replaced (absent-safe add, delete, add) in the same
    // transaction, so a packet sees the old element or the new one, never neither.
    return opts.replace ? `${forgetLines(set, items)}\n${add}` : add;
  });
}

// Names reaching here passed the proxy's check (only [a-z0-9_-] labels), so they
// need no escaping inside the quotes.
const commentOf = (name: string | undefined) => (name && name.length <= MAX_COMMENT ? ` comment "${name}"` : "");

/**
 * Removes learned addresses. `delete element` of an absent element fails the whole
 * batch (ENOENT), so each element is first added (with a 1 s timeout: if the delete were
 * ever skipped it vanishes by itself) and then deleted.
 */
export function renderForget(elements: readonly { family: 4 | 6; address: string }[]): string {
  return byFamily(elements, forgetLines);
}

function forgetLines(set: string, items: readonly { address: string }[]): string {
  const list = items.map((e) => e.address).join(", ");
  return `add element ${T} ${set} { ${items.map((e) => `${e.address} timeout 1s`).join(", ")} }\ndelete element ${T} ${set} { ${list} }`;
}
