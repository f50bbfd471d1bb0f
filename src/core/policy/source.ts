// Policy text as a value plus a way to find where any field path sits in the text, for
// both syntaxes: JSON (RFC 8259, json-source.ts) for `.json` files, the
// OPENSANDBOX_EGRESS_RULES variable and the HTTP API's bodies, which are JSON in
// OpenSandbox; YAML (yaml-source.ts) for everything else, which reads JSON too, as
// YAML's flow style. Parse failures are Problems with line:column; nothing here throws.
import type { PathKey, Problem } from "./problems.ts";
import { parseJson, type JsonSource } from "./json-source.ts";

export type Syntax = "json" | "yaml";

export interface Source {
  value: unknown;
  /** where the value (or, with `key`, the key) at `path` starts; the nearest parent when absent */
  pos(path: readonly PathKey[], key?: boolean): { line: number; col: number };
  /** JSON: keys given more than once in one object (YAML refuses those while parsing) */
  duplicates?: JsonSource["duplicates"];
}

export function parseSource(text: string, syntax: Syntax): { source: Source | null; problems: Problem[] } {
  return syntax === "json" ? parseJson(text) : parseYaml(text);
}

/**
 * The YAML reader (and the yaml library) is loaded at the first YAML text: JSON policies
 * (the environment variable, the API's bodies, `.json` files) never load it.
 */
function parseYaml(text: string): ReturnType<typeof import("./yaml-source.ts").parseYaml> {
  return (require("./yaml-source.ts") as typeof import("./yaml-source.ts")).parseYaml(text);
}

/** The syntax a policy file is read in: `.json` is JSON, anything else YAML. */
export function syntaxOfFile(path: string): Syntax {
  return /\.json$/i.test(path) ? "json" : "yaml";
}
