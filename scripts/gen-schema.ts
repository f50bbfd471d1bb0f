// `make schema`: writes schema/policy.schema.json from the valibot schema (policy-schema.ts).
import { writeFileSync } from "node:fs";
import { SCHEMA_PATH, policySchemaText } from "./policy-schema.ts";

writeFileSync(SCHEMA_PATH, policySchemaText());
console.error(`schema: wrote ${SCHEMA_PATH}`);
