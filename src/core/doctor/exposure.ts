// doctor's findings about what egressctl cannot stop by itself, where doctor can see it:
// processes beside serve that hold NET_RAW or NET_ADMIN (a full bypass). Pure;
// docs/doctor.md, docs/security.md.
import { describePrivileged } from "../caps/privileged.ts";
import type { DoctorInput, ServeStatus } from "./input.ts";

type Add = (section: "exposure" | "upstreams", check: string, status: "ok" | "fail" | "warn" | "info", message: string) => void;

export function exposureFindings(input: DoctorInput, _st: ServeStatus, add: Add): void {
  privilegedFindings(input, add);
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
