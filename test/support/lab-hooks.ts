// A bare lab (namespaces only) for one test file: created before its tests, removed after.
// Kept apart from lab.ts, which the demo and the benchmarks import outside `bun test`.
import { afterAll, beforeAll } from "bun:test";
import { Lab } from "./lab.ts";

/** `assign` receives the file's lab once created; `before` runs first (e.g. a binary check). */
export function useBareLab(assign: (lab: Lab) => void, before?: () => void): void {
  let lab: Lab | undefined;
  beforeAll(async () => {
    before?.();
    lab = await Lab.create();
    assign(lab);
  });
  afterAll(async () => {
    await lab?.destroy();
  });
}
