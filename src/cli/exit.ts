// Exit codes are part of the contract (CONTRACT section 2); every command uses these
// names instead of bare numbers.
export const Exit = {
  ok: 0,
  runtime: 1,
  usage: 2,
  invalidPolicy: 3,
  unavailable: 4,
  kernelRejected: 5,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

/** An expected failure: its message already tells the user what to do. */
export class ActionableError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = Exit.runtime,
  ) {
    super(message);
    this.name = "ActionableError";
  }
}
