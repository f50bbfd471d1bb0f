// Exit codes are a promise to scripts (docs/cli.md, "Exit codes"); commands and use
// cases use these names instead of bare numbers.
export const Exit = {
  ok: 0,
  runtime: 1,
  usage: 2,
  invalidPolicy: 3,
  unavailable: 4,
  kernelRejected: 5,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];
