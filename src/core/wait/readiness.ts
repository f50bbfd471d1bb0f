// Whether serve enforces what it set out to: its first self-test has run and measured
// the level serve intends (the mode it picked). `egressctl wait` judges /status with
// this, and the metrics address's /healthz answers with it, so both say the same thing
// in the same words. Pure.

export type Readiness = { ok: true; level: string } | { ok: false; waitingFor: string };

/** intended: the mode serve runs; measured: what its last self-test measured (null: none yet) */
export function readiness(intended: string, measured: string | null, findings: readonly string[] = []): Readiness {
  if (measured === null) return { ok: false, waitingFor: "serve's first self-test (serve is starting)" };
  if (measured !== intended) {
    const why = findings.length ? `: ${findings.join("; ")}` : "";
    return { ok: false, waitingFor: `the self-test to measure ${intended} (it measured ${measured}${why})` };
  }
  return { ok: true, level: measured };
}

/** The same judgement from /status's JSON (docs/serve.md, "Status socket"). */
export function readinessFromStatus(body: unknown): Readiness {
  const s = body as { mode?: unknown; measuredLevel?: unknown; selfTestFindings?: unknown } | null;
  const findings = Array.isArray(s?.selfTestFindings) ? s.selfTestFindings.filter((f): f is string => typeof f === "string") : [];
  if (typeof s?.mode !== "string" || !(s.measuredLevel === null || typeof s.measuredLevel === "string")) {
    return { ok: false, waitingFor: "a /status that names mode and measuredLevel (is this egressctl serve's status socket?)" };
  }
  return readiness(s.mode, s.measuredLevel, findings);
}
