// Logs go to stderr (stdout is for data). consola writes everything to stderr here. It is
// loaded at the first message: serve logs through its own event log and never needs it,
// and loading it (with the terminal and stream modules it pulls in) costs every command
// start-up time and memory.
import type { ConsolaInstance } from "consola";

let instance: ConsolaInstance | null = null;

function consola(): ConsolaInstance {
  if (!instance) {
    const { createConsola } = require("consola") as typeof import("consola");
    instance = createConsola({ stdout: process.stderr, stderr: process.stderr, level: process.env.EGRESSCTL_QUIET ? 1 : 3 });
  }
  return instance;
}

export const log = {
  error: (message: unknown, ...args: unknown[]) => consola().error(message, ...args),
  warn: (message: unknown, ...args: unknown[]) => consola().warn(message, ...args),
  info: (message: unknown, ...args: unknown[]) => consola().info(message, ...args),
};
