// Entry point: a tiny dispatcher. Each subcommand lives in src/cli/<name>.ts and is
// loaded lazily, so `egressctl validate` never pays for loading the DNS proxy.
//
// We drive citty's runCommand ourselves instead of runMain because runMain exits 1 on
// every error; usage errors are exit 2 and expected failures a command-specific code
// (ActionableError; docs/cli.md, "Exit codes"), and never a stack trace for either.
import { defineCommand, runCommand, showUsage } from "citty";
import { COMMIT, VERSION } from "./version.ts";
import { ActionableError, Exit } from "./cli/exit.ts";
import { mainHelp } from "./cli/help.ts";
import { log } from "./cli/log.ts";

/** the commands, each with the one line `egressctl --help` shows for it (src/cli/help.ts) */
const COMMANDS = [
  { name: "probe", summary: "which enforcement mode this namespace allows, and why", load: () => import("./cli/probe.ts") },
  { name: "validate", summary: "check policy files; every problem with its path and line:column", load: () => import("./cli/validate.ts") },
  { name: "apply", summary: "render the nftables ruleset for a policy and load it in one transaction", load: () => import("./cli/apply.ts") },
  { name: "serve", summary: "the sidecar: DNS proxy, learning, status socket, policy API, reload", load: () => import("./cli/serve.ts") },
  { name: "doctor", summary: "inside a running sandbox: what is enforced, and why a name or IP is allowed", load: () => import("./cli/doctor.ts") },
  { name: "inject", summary: "add the sidecar to Kubernetes workload manifests (or --uninject it)", load: () => import("./cli/inject.ts") },
  { name: "wait", summary: "until serve measured the level it intends; then exit 0, or run CMD", load: () => import("./cli/wait.ts") },
] as const;

const main = defineCommand({
  meta: { name: "egressctl", version: `${VERSION} (commit ${COMMIT})`, description: "Egress firewall for code sandboxes." },
  subCommands: Object.fromEntries(COMMANDS.map((c) => [c.name, () => c.load().then((m) => m.default)])),
});

const rawArgs = process.argv.slice(2);
// what follows `--` belongs to the command `egressctl wait` runs: its --help is not ours
const ownArgs = rawArgs.includes("--") ? rawArgs.slice(0, rawArgs.indexOf("--")) : rawArgs;

if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
  process.stdout.write(`egressctl ${VERSION} (commit ${COMMIT})\n`);
  process.exit(Exit.ok);
}
if (rawArgs.length === 0 || ownArgs.includes("--help") || ownArgs.includes("-h")) {
  const sub = commandFor(ownArgs);
  if (sub) await showUsage(await sub(), main);
  else process.stdout.write(mainHelp(`${VERSION} (commit ${COMMIT})`, COMMANDS));
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

/** The command whose help was asked for (`egressctl validate --help`), or null for the top level. */
function commandFor(args: string[]): (() => Promise<any>) | null {
  const name = args.find((a) => !a.startsWith("-"));
  const subs = main.subCommands as Record<string, () => Promise<any>>;
  return name && subs[name] ? subs[name] : null;
}
