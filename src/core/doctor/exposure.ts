// doctor's findings about what egressctl cannot stop by itself, where doctor can see it:
// processes beside serve that hold NET_RAW or NET_ADMIN (a full bypass), hosts that may
// hold a two-way channel with the sandbox (--inbound-from any), and upstreams taken
// from resolv.conf (a file the application may have written before serve first read it).
// Pure; docs/doctor.md, docs/security.md.
import { describePrivileged } from "../caps/privileged.ts";
import type { DoctorInput, ServeStatus } from "./input.ts";

type Add = (section: "exposure" | "upstreams", check: string, status: "ok" | "fail" | "warn" | "info", message: string) => void;

export function exposureFindings(input: DoctorInput, st: ServeStatus, add: Add): void {
  privilegedFindings(input, add);
  if (!input.serve.reachable) return;
  const from = st.inbound?.from;
  if (from !== undefined) {
    const enforced = st.inbound?.enforced !== false;
    if (from === "any") {
      add("exposure", "exposure.inbound", "warn", "inbound from any: any host able to reach the sandbox can hold a two-way channel with it (the sandbox answers every flow another host opens, whatever the policy says about that host); set --inbound-from (EGRESSCTL_INBOUND_FROM) to the platform's addresses, or none");
    } else if (!enforced) {
      add("exposure", "exposure.inbound", "info", `inbound from ${from === "none" ? "none" : from.join(", ")}: not enforced in ${st.mode ?? "this mode"} (nothing filters packets)`);
    } else {
      add("exposure", "exposure.inbound", "ok", from === "none" ? "inbound from none: no host outside the namespace is answered in a flow it opened" : `inbound from ${from.join(", ")} only: flows other hosts open are not answered`);
    }
  }
  const u = st.upstreams;
  if (u?.origin === "resolv.conf") {
    add("upstreams", "upstreams.origin", "warn", `the upstreams were read from /etc/resolv.conf at serve's first start in this namespace${u.pinned ? " and kept since (pinned)" : ""}: a root application that rewrote it before then chose them; set --upstream or OPENSANDBOX_EGRESS_DNS_UPSTREAM`);
  }
  if (u?.local?.length) {
    add("upstreams", "upstreams.local", "warn", `${u.local.join(", ")} ${u.local.length === 1 ? "is an address" : "are addresses"} of this network namespace (--allow-local-upstream): the application could answer in the resolver's place whenever it is not listening`);
  }
  if (u?.origin === "configured") {
    add("upstreams", "upstreams.origin", "ok", "the upstreams are configured (--upstream or OPENSANDBOX_EGRESS_DNS_UPSTREAM)");
  }
}

function privilegedFindings(input: DoctorInput, add: Add): void {
  const p = input.privileged;
  if (!p) return;
  if ("error" in p) {
    add("exposure", "exposure.capabilities", "warn", `could not look for processes holding NET_RAW or NET_ADMIN: ${p.error}`);
    return;
  }
  for (const f of p.found) {
    add("exposure", "exposure.capabilities", "fail", `${describePrivileged(f)}: a full bypass (NET_RAW sends frames below netfilter and forges the proxy's mark; NET_ADMIN rewrites the ruleset); drop both from the application's container`);
  }
  if (p.found.length) return;
  if (p.examined === 0) {
    add("exposure", "exposure.capabilities", "info", "no other process is visible in serve's network namespace: the application's PID namespace is not shared with doctor, so its capabilities cannot be checked from here; the platform must drop NET_RAW and NET_ADMIN from it");
  } else {
    add("exposure", "exposure.capabilities", "ok", `${p.examined} other process(es) in serve's network namespace, none holds NET_RAW or NET_ADMIN`);
  }
}
