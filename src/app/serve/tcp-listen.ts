// Where serve's TCP servers (the policy API, the metrics address) listen: one address
// as given, or for `:PORT` every address: `::` (dual-stack), else 0.0.0.0 where IPv6
// is off in the namespace.
import type { HttpAddr } from "../../core/config/serve-config.ts";

type ServeOptions = { port: number; fetch(req: Request): Response | Promise<Response>; error?(e: Error): Response };

export function listenTcp(addr: HttpAddr, opts: Omit<ServeOptions, "port">): ReturnType<typeof Bun.serve> {
  const o = { ...opts, port: addr.port };
  if (addr.host !== null) return Bun.serve({ ...o, hostname: addr.host });
  try {
    return Bun.serve({ ...o, hostname: "::" });
  } catch {
    return Bun.serve({ ...o, hostname: "0.0.0.0" });
  }
}
