// Entry point: a tiny dispatcher. Each subcommand lives in src/cli/<name>.ts and is
// loaded lazily, so `egressctl validate` never pays for loading the DNS proxy.
//
// We drive citty's runCommand ourselves instead of runMain because runMain exits 1 on
// every error; the contract wants 2 for usage errors and a command-specific code for
// expected failures (ActionableError), and never a stack trace for either.
import { defineCommand, runCommand, showUsage } from "citty";
import { COMMIT, VERSION } from "./version.ts";
import { ActionableError, Exit } from "./cli/exit.ts";
import { log } from "./cli/log.ts";

const main = defineCommand({
  meta: {
    name: "egressctl",
    version: `${VERSION} (commit ${COMMIT})`,
    description: `Egress firewall for code sandboxes.

Examples:
  egressctl probe                        which enforcement mode is possible here
  egressctl validate policy.yaml         check a policy, point at each mistake
  egressctl apply policy.yaml --dry-run  print the nftables ruleset
  egressctl serve policy.yaml            run the sidecar
  egressctl doctor api.github.com        inside a sandbox: what is enforced, and why
  egressctl wait -- python app.py        run the application once enforcement is measured`,
  },
  subCommands: {
    validate: () => import("./cli/validate.ts").then((m) => m.default),
    probe: () => import("./cli/probe.ts").then((m) => m.default),
    apply: () => import("./cli/apply.ts").then((m) => m.default),
    serve: () => import("./cli/serve.ts").then((m) => m.default),
    doctor: () => import("./cli/doctor.ts").then((m) => m.default),
    inject: () => import("./cli/inject.ts").then((m) => m.default),
    wait: () => import("./cli/wait.ts").then((m) => m.default),
  },
});

const rawArgs = process.argv.slice(2);
// what follows `--` belongs to the command `egressctl wait` runs: its --help is not ours
const ownArgs = rawArgs.includes("--") ? rawArgs.slice(0, rawArgs.indexOf("--")) : rawArgs;

if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
  process.stdout.write(`egressctl ${VERSION} (commit ${COMMIT})\n`);
  process.exit(Exit.ok);
}
if (rawArgs.length === 0 || ownArgs.includes("--help") || ownArgs.includes("-h")) {
  await showUsage(...(await resolveForHelp(ownArgs)));
  process.exit(rawArgs.length === 0 ? Exit.usage : Exit.ok);
}

try {
  await runCommand(main, { rawArgs });
} catch (err) {
  process.exit(await report(err));
}

async function report(err: unknown): Promise<number> {
  if (err instanceof ActionableError) {
    log.error(err.message);
    return err.exitCode;
  }
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && code.startsWith("E_")) {
    // citty's own usage errors (unknown command, missing argument, ...)
    log.error(`${(err as Error).message}\nRun 'egressctl --help' for usage.`);
    return Exit.usage;
  }
  log.error(err instanceof Error ? err.message : String(err));
  if (process.env.EGRESSCTL_DEBUG && err instanceof Error) log.error(err.stack);
  return Exit.runtime;
}

/** Finds the (sub)command whose help was asked for: `egressctl validate --help`. */
async function resolveForHelp(args: string[]): Promise<[any, any?]> {
  const name = args.find((a) => !a.startsWith("-"));
  const subs = main.subCommands as Record<string, () => Promise<any>>;
  if (name && subs[name]) return [await subs[name](), main];
  return [main];
}
