// schema/policy.schema.json is generated from the validator's valibot schema and shipped;
// it must be what `make schema` writes today, every example must name it in its
// yaml-language-server modeline, and it must agree with egressctl's own validator on
// the project's policies (what validates passes, what has the wrong shape fails).
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import Ajv from "ajv";
import { parse } from "yaml";
import { SCHEMA_PATH, policySchemaText } from "../../../scripts/policy-schema.ts";
import { loadPolicyText } from "../../../src/core/policy/load.ts";

const ROOT = resolve(import.meta.dir, "../../..");
const schemaFile = join(ROOT, SCHEMA_PATH);
const validate = new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(schemaFile, "utf8")));

const examples = readdirSync(join(ROOT, "examples")).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(ROOT, "examples", f));
const policyFiles = [...examples, join(ROOT, "deploy/docker/policy/policy.yaml")];

describe("schema/policy.schema.json", () => {
  test("is what `make schema` generates from the valibot schema today (run `make schema` when this fails)", () => {
    expect(readFileSync(schemaFile, "utf8")).toBe(policySchemaText());
  });

  test("every example policy names it in a yaml-language-server modeline, by a path that exists", () => {
    for (const f of policyFiles) {
      const m = /^# yaml-language-server: \$schema=(\S+)$/m.exec(readFileSync(f, "utf8"));
      expect({ file: f, modeline: m?.[1] ?? null }).toMatchObject({ modeline: expect.any(String) });
      expect(resolve(dirname(f), m![1]!)).toBe(schemaFile);
    }
  });

  // the schema is the canonical form, what `validate --strict` accepts ("Allow" or a rule
  // without action runs, with a warning, but an editor should point at it)
  test("agrees with the validator: examples and fixtures that validate --strict accepts pass", () => {
    const valid = join(ROOT, "test/fixtures/policies/valid");
    const fixtures = readdirSync(valid).filter((f) => /\.(ya?ml|json)$/.test(f) && !f.endsWith(".expected.json")).map((f) => join(valid, f));
    expect(fixtures.length).toBeGreaterThan(5);
    let checked = 0;
    for (const f of [...policyFiles, ...fixtures]) {
      const text = readFileSync(f, "utf8").replace(/^\uFEFF/, "");
      const r = loadPolicyText(text, { source: f, strict: true });
      if (!r.policy) continue; // the validator's own judgement decides which are valid
      const doc = parse(text) ?? {};
      const ok = validate(doc);
      expect({ file: f, errors: ok ? null : validate.errors }).toEqual({ file: f, errors: null });
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
  });

  test("rejects what has the wrong shape: a bad action, unknown fields and odd forms (as validate --strict does), a rule that is a string", () => {
    for (const bad of [
      { egress: [{ action: "Allow", target: "x.example.com" }] },
      { egress: [{ target: "x.example.com" }] },
      { egress: [{ action: "maybe", target: "x.example.com" }] },
      { defaultAction: "deny", egres: [] },
      { egress: [{ action: "allow", target: "x.example.com", port: 443 }] },
      { egress: ["x.example.com"] },
    ]) expect({ bad, ok: validate(bad) }).toEqual({ bad, ok: false });
    expect(existsSync(schemaFile)).toBe(true);
  });
});
