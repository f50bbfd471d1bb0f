// Version and commit are baked in by scripts/build.ts (--define); running from
// source (bun src/main.ts) falls back to "dev".
declare const EGRESSCTL_VERSION: string | undefined;
declare const EGRESSCTL_COMMIT: string | undefined;

export const VERSION: string = typeof EGRESSCTL_VERSION === "string" ? EGRESSCTL_VERSION : "0.0.0-dev";
export const COMMIT: string = typeof EGRESSCTL_COMMIT === "string" ? EGRESSCTL_COMMIT : "dev";
