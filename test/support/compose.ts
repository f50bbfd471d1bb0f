// deploy/docker/compose.yaml as the podman commands docker compose would run for it.
// Debian 12's podman-compose (1.0.3) cannot run the file: it wraps a CMD health check in
// /bin/sh (the image has no shell), ignores `condition: service_healthy`, and passes
// `network_mode: service:egress` to podman verbatim beside a network of its own. So the
// lab translates the file itself: every key it does not know is an error (a new
// setting in the file cannot be silently skipped), `service:X` becomes `container:X`,
// and a dependency on a healthy service waits for that service's health check.
import { dirname, resolve } from "node:path";

type Obj = Record<string, any>;

export interface ServiceRun {
  service: string;
  /** the container's name, as compose v2 names it: <project>-<service>-1 */
  name: string;
  /** podman run flags (no image, no command) */
  flags: string[];
  image: string;
  command: string[];
  /** services that must be healthy before this one starts */
  afterHealthy: string[];
}

const KNOWN = new Set(["image", "command", "environment", "cap_drop", "cap_add", "read_only", "tmpfs", "volumes", "healthcheck", "restart", "network_mode", "depends_on", "user", "security_opt"]);

/** ${VAR}, ${VAR:-default}, ${VAR:?error}, as compose interpolates them */
export function interpolate(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-?])([^}]*))?\}/g, (_m, name: string, op: string | undefined, arg: string) => {
    const v = vars[name];
    if (v !== undefined && v !== "") return v;
    if (op === "?") throw new Error(`compose: ${name}: ${arg}`);
    return op === "-" ? arg : "";
  });
}

/** the podman runs for a parsed compose file, in start order */
export function composeRuns(file: string, compose: Obj, vars: Record<string, string | undefined>): ServiceRun[] {
  const project: string = compose.name;
  const dir = dirname(file);
  const nameOf = (s: string) => `${project}-${s}-1`;
  const runs: ServiceRun[] = [];
  for (const [service, raw] of Object.entries(compose.services as Obj)) {
    const s = JSON.parse(interpolate(JSON.stringify(raw), vars)) as Obj;
    const unknown = Object.keys(s).filter((k) => !KNOWN.has(k));
    if (unknown.length) throw new Error(`compose: service ${service}: the lab does not translate ${unknown.join(", ")}`);
    const f: string[] = [];
    if (s.network_mode) {
      const m = /^service:(.+)$/.exec(s.network_mode);
      f.push("--network", m ? `container:${nameOf(m[1]!)}` : s.network_mode);
    }
    for (const c of s.cap_drop ?? []) f.push("--cap-drop", c);
    for (const c of s.cap_add ?? []) f.push("--cap-add", c);
    if (s.read_only) f.push("--read-only");
    for (const t of s.tmpfs ?? []) f.push("--tmpfs", t);
    for (const [k, v] of Object.entries(s.environment ?? {})) f.push("-e", `${k}=${v}`);
    for (const v of s.volumes ?? []) {
      const [src, ...rest] = String(v).split(":");
      f.push("-v", [src!.startsWith(".") ? resolve(dir, src!) : src, ...rest].join(":"));
    }
    if (s.user) f.push("--user", s.user);
    for (const o of s.security_opt ?? []) f.push("--security-opt", o);
    if (s.restart) f.push("--restart", s.restart);
    const hc = s.healthcheck;
    if (hc) {
      if (!Array.isArray(hc.test) || hc.test[0] !== "CMD") throw new Error(`compose: service ${service}: healthcheck.test must be ["CMD", ...] (the image has no shell)`);
      f.push("--health-cmd", JSON.stringify(hc.test.slice(1)));
      for (const [k, flag] of [["interval", "--health-interval"], ["timeout", "--health-timeout"], ["retries", "--health-retries"], ["start_period", "--health-start-period"]] as const) {
        if (hc[k] !== undefined) f.push(flag, String(hc[k]));
      }
    }
    const deps = s.depends_on ?? {};
    const afterHealthy = Object.entries(deps).filter(([, d]) => (d as Obj)?.condition === "service_healthy").map(([n]) => n);
    if (Object.keys(deps).length !== afterHealthy.length) throw new Error(`compose: service ${service}: every dependency must wait for service_healthy`);
    runs.push({ service, name: nameOf(service), flags: f, image: s.image, command: s.command ?? [], afterHealthy });
  }
  // dependencies first
  return runs.sort((a, b) => (b.afterHealthy.includes(a.service) ? -1 : a.afterHealthy.includes(b.service) ? 1 : 0));
}
