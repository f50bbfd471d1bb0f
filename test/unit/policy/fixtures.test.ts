// Every fixture policy through the engine, compared with its .expected.json.
// (test/cli/validate.test.ts runs the same corpus through the compiled binary.)
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { actual, expectedPath, fixtureFiles, type Expected } from "../../fixtures/policies/expected.ts";

const load = (f: string): Expected => JSON.parse(readFileSync(expectedPath(f), "utf8"));

for (const [kind, minimum] of [["invalid", 40], ["valid", 10]] as const) {
  describe(`${kind} fixtures`, () => {
    const files = fixtureFiles(kind);
    test(`corpus has at least ${minimum} ${kind} policies`, () => expect(files.length).toBeGreaterThanOrEqual(minimum));
    for (const f of files) {
      test(basename(f), () => {
        const want = load(f);
        expect(want.valid).toBe(kind === "valid");
        // invalid: at least one error; valid: warnings only
        expect(want.problems.some((p) => p.severity === "error")).toBe(kind === "invalid");
        expect(actual(f)).toEqual(want);
      });
    }
  });
}
