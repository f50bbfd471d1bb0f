// How a numeric flag or variable reads: unset or empty is the default; anything outside
// [min, max] (or not whole, where it must be) is an error collected for the one usage
// message, and the default stands in meanwhile. Pure.
export function numberSetting(errors: string[], what: string, s: string | undefined, dflt: number, min: number, max: number, integer = false): number {
  if (s === undefined || s === "") return dflt;
  const n = Number(s);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    errors.push(`${what} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}, got '${s}'`);
    return dflt;
  }
  return n;
}
