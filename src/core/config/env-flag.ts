// How a boolean environment variable reads: unset or empty is the default; 0, false, no
// and off (any case) are false; anything else is true. Shared by every command.
export function envFlag(value: string | undefined, dflt: boolean): boolean {
  if (value === undefined || value.trim() === "") return dflt;
  return !/^(0|false|no|off)$/i.test(value.trim());
}
