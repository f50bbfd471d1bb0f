// What a transport to an upstream reports for one attempt. Shared by UDP and TCP.
import type { AnswerInfo, Expect } from "../../core/dns/answer.ts";

export type Attempt =
  | { ok: true; answer: Buffer; info: AnswerInfo }
  | { ok: false; why: "timeout" | "refused" | "error" | "closed" };

/** The question an answer must match; the ID is chosen by the transport. */
export type Question = Omit<Expect, "id">;

/** Told the outcome of one attempt, exactly once (an object, not a closure: one fewer allocation per query). */
export interface AttemptWaiter {
  settled(a: Attempt): void;
}
