// Logs go to stderr (stdout is for data). consola writes everything to stderr here.
import { createConsola } from "consola";

export const log = createConsola({
  stdout: process.stderr,
  stderr: process.stderr,
  level: process.env.EGRESSCTL_QUIET ? 1 : 3,
});
