// `egressctl wait [--timeout DURATION] [--socket PATH | --metrics-addr ADDR] [-- CMD ARGS...]`:
// returns (exit 0), or runs CMD in its place, once serve is ready and its self-test
// measured the level serve intends; exit 1 on timeout, saying what it still waited for.
// The image's health check, a Kubernetes startup probe, and an entrypoint wrapper.
import { defineCommand } from "citty";
import { DEFAULT_STATUS_SOCKET, parseHttpAddr, statusSocketFrom } from "../core/config/serve-config.ts";
import { parseDuration } from "../core/config/duration.ts";
import { metricsAddrCheck, statusSocketCheck, waitReady } from "../app/wait.ts";
import { ActionableError, Exit } from "./exit.ts";
import { log } from "./log.ts";

export const DEFAULT_WAIT_TIMEOUT = "60s";

export default defineCommand({
  meta: {
    name: "wait",
    description: `Wait until serve is ready and its self-test measured the enforcement level serve
intends (the mode it runs), then exit 0, or run CMD in wait's place (same PID, same
environment). On timeout exit 1 and say what it was still waiting for; CMD is not run.

Asks serve's status socket (/status) by default; --metrics-addr asks serve's metrics
address (/healthz) instead, for a container that does not share serve's socket.

Examples:
  egressctl wait                                 the image's health check
  egressctl wait --timeout 3s                    a Kubernetes startup probe
  egressctl wait --timeout 2m -- python app.py   start the application once enforced
  egressctl wait --metrics-addr 127.0.0.1:9090 -- /app/run`,
  },
  args: {
    timeout: { type: "string", valueHint: "DURATION", description: `how long to wait: 500ms, 30s, 2m, 1m30s, or seconds; 0 asks once (default ${DEFAULT_WAIT_TIMEOUT})` },
    socket: { type: "string", valueHint: "PATH", description: `serve's status socket (default: EGRESSCTL_STATUS_SOCKET, else ${DEFAULT_STATUS_SOCKET})` },
    "metrics-addr": { type: "string", valueHint: "ADDR", description: "ask serve's --metrics-addr (/healthz) instead of its status socket: :PORT, HOST:PORT or [IPv6]:PORT" },
  },
  async run({ args, rawArgs }) {
    const dash = rawArgs.indexOf("--");
    const cmd = dash < 0 ? [] : rawArgs.slice(dash + 1);
    const stray = dash < 0 ? args._ : args._.slice(0, args._.length - cmd.length);
    if (stray.length) throw new ActionableError(`unexpected argument '${stray[0]}': put the command after --, as in egressctl wait -- ${stray.join(" ")}`, Exit.usage);
    if (dash >= 0 && cmd.length === 0) throw new ActionableError("nothing after --: name the command to run once serve is ready", Exit.usage);

    const timeoutMs = parseDuration(args.timeout ?? DEFAULT_WAIT_TIMEOUT);
    if (typeof timeoutMs === "string") throw new ActionableError(`--timeout: ${timeoutMs}`, Exit.usage);
    if (args.socket !== undefined && args["metrics-addr"] !== undefined) throw new ActionableError("give --socket or --metrics-addr, not both", Exit.usage);
    const check = args["metrics-addr"] !== undefined ? metricsAddrCheck(hostPort(args["metrics-addr"])) : statusSocketCheck(socketPath(args.socket));

    const r = await waitReady(check, timeoutMs);
    if (!r.ok) {
      const when = timeoutMs === 0 ? "not ready" : `timed out after ${args.timeout ?? DEFAULT_WAIT_TIMEOUT}`;
      log.error(`egressctl wait: ${when}, still waiting for ${r.waitingFor}`);
      process.exit(Exit.runtime);
    }
    if (cmd.length === 0) {
      process.stdout.write(`ready: serve enforces ${r.level}\n`);
      process.exit(Exit.ok);
    }
    const path = cmd[0]!.includes("/") ? cmd[0]! : Bun.which(cmd[0]!, { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin" });
    if (!path) {
      log.error(`egressctl wait: ${cmd[0]}: command not found`);
      process.exit(127);
    }
    const { execProgram } = await import("../effects/sys/exec.ts");
    const failed = execProgram(path, cmd, process.env);
    log.error(`egressctl wait: ${cmd[0]}: ${failed.error}`);
    process.exit(failed.exitCode);
  },
});

function socketPath(flag: string | undefined): string {
  const p = statusSocketFrom(flag, process.env);
  if (p === "") throw new ActionableError("--socket needs a path", Exit.usage);
  return p;
}

/** `:9090` means this namespace's loopback: serve listens on every address, loopback included */
function hostPort(spec: string): string {
  const a = parseHttpAddr(spec);
  if (a === null || typeof a === "string") throw new ActionableError(`--metrics-addr: ${a ?? "needs an address, not off"}`, Exit.usage);
  const host = a.host ?? "127.0.0.1";
  return `${host.includes(":") ? `[${host}]` : host}:${a.port}`;
}
