// serve's look for processes that could bypass it from inside the namespace (NET_RAW or
// NET_ADMIN; src/core/caps/privileged.ts), at start and with every self-test. The last
// result is shown in /status; a change is logged: `privileged.found` (error) names them,
// `privileged.cleared` says they are gone.
import { describePrivileged, type PrivilegeScan } from "../../core/caps/privileged.ts";
import type { EventLog } from "../../effects/log/events.ts";
import { scanPrivileged } from "../../effects/sys/proc-scan.ts";

export class PrivilegeWatch {
  last: PrivilegeScan | null = null;
  private key = "";

  constructor(private log: EventLog, private scan: () => PrivilegeScan = () => scanPrivileged(process.pid)) {}

  check(): PrivilegeScan | null {
    let s: PrivilegeScan;
    try {
      s = this.scan();
    } catch (e) {
      this.log.emit("serve.error", { what: "privilege scan", error: (e as Error).message }, "error");
      return this.last;
    }
    const key = s.found.map((p) => `${p.pid}:${p.effective}:${p.bounding}`).join(" ");
    if (key !== this.key) {
      if (s.found.length) {
        this.log.emit("privileged.found", {
          processes: s.found.map((p) => ({ ...p, text: describePrivileged(p) })),
          note: "these processes share serve's network namespace and can bypass egressctl (NET_RAW: raw frames below netfilter, forged SO_MARK; NET_ADMIN: the ruleset itself); drop NET_RAW and NET_ADMIN from the application's container",
        }, "error");
      } else if (this.key !== "") this.log.emit("privileged.cleared", { examined: s.examined });
      this.key = key;
    }
    this.last = s;
    return s;
  }
}
