// Exit codes (src/core/exit-codes.ts) and the error type for expected failures.
import { Exit, type ExitCode } from "../core/exit-codes.ts";

export { Exit, type ExitCode };

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
