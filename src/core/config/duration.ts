// How a DURATION reads on the command line: Go's style (`500ms`, `30s`, `2m`, `1h`,
// `1m30s`), or a bare number of seconds. Pure: text in, milliseconds or the error out.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number | string {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  // the pieces must cover the whole text: "5x" or "5s garbage" is an error, not 5 s
  if (s === "" || parts.map((p) => p[0]).join("") !== s) return `expected a duration such as 500ms, 30s, 2m or 1m30s, got '${text}'`;
  return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * UNIT_MS[p[2]!]!, 0));
}
