// How much the learned sets may hold: an element lives at most `maxLifetimeSec`, and each
// family's set holds at most `maxElements`. A program that resolves ever-new allowed
// names (a wildcard over a zone that answers every name) would otherwise grow the
// kernel's sets, and serve's memory with them, without end. When a set is full the
// answer for a new address is SERVFAIL (fail closed); addresses already learned keep
// being refreshed. The kernel enforces the same count (the sets' `size`), so even a
// write serve did not count cannot overfill them. Pure.
import { Errno } from "../errors/errno.ts";
import { LEARN_TTL_MIN } from "../ruleset/names.ts";
import { HEADROOM_SEC } from "./kernel-expiry.ts";

/** default: no learned element lives longer than an hour; a longer TTL is learned again when asked again */
export const DEFAULT_MAX_LIFETIME_SEC = 3600;
/** default: elements per learned set (learned4, learned6) */
export const DEFAULT_MAX_ELEMENTS = 65_536;
/** the accepted range of the settings */
export const MAX_LIFETIME_RANGE = [2 * LEARN_TTL_MIN, 7 * 86_400] as const;
export const MAX_ELEMENTS_RANGE = [16, 4_194_304] as const;

export interface LearnBounds {
  maxLifetimeSec: number;
  maxElements: number;
}

export const DEFAULT_BOUNDS: LearnBounds = Object.freeze({ maxLifetimeSec: DEFAULT_MAX_LIFETIME_SEC, maxElements: DEFAULT_MAX_ELEMENTS });

/**
 * The longest TTL an answer is learned for: the lifetime bound less the headroom the
 * writer adds on top (kernel-expiry.ts), so no element is ever written for longer than
 * the bound.
 */
export function ttlCeiling(b: LearnBounds): number {
  return Math.max(LEARN_TTL_MIN, b.maxLifetimeSec - HEADROOM_SEC);
}

/** An answer that needs a new element while its set is full. */
export class LearnFullError extends Error {
  readonly learnFull = true;
  /** `max` 0: serve did not count it full, the kernel refused (its own size) */
  constructor(readonly family: 4 | 6, readonly max: number) {
    super(`learned set for IPv${family} is full (${max ? `${max} elements` : "the kernel refused a new element"}): a new address cannot be allowed`);
  }
}

export function isLearnFull(e: unknown): e is LearnFullError {
  return typeof e === "object" && e !== null && (e as { learnFull?: unknown }).learnFull === true;
}

/** errnos with which the kernel refuses an element because the set is full */
const SET_FULL_ERRNOS: readonly number[] = [Errno.ENFILE /* Linux >= 4.x */, Errno.ENOSPC];

/** whether a refusal's errno says "the set is full" (the data's answer, not the socket's) */
export function isSetFull(errno: number | null | undefined): boolean {
  return errno != null && SET_FULL_ERRNOS.includes(Math.abs(errno));
}
