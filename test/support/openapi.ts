// Checks HTTP responses the lab tests received against the OpenAPI 3.1 documents in
// schema/openapi/: the path and method must be documented (or the path answered as the
// document's `x-other-paths` says), the status too, required headers present and valid,
// and the body valid against the media type's JSON Schema (ajv, draft 2020-12, the
// dialect OpenAPI 3.1 uses).
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse } from "yaml";

export const OPENAPI_DIR = resolve(import.meta.dir, "../../schema/openapi");

/** one HTTP exchange as a test saw it */
export interface Recorded {
  method: string;
  /** the path, with or without a query string */
  path: string;
  status: number;
  /** response headers, names lowercased */
  headers: Record<string, string>;
  body: string;
}

type Obj = Record<string, any>;

export class ApiSpec {
  private ajv = new Ajv2020({ allErrors: true, strict: true });
  private compiled = new WeakMap<object, ValidateFunction>();
  private readonly doc: Obj;
  private readonly id: string;

  constructor(readonly file: string) {
    this.doc = parse(readFileSync(join(OPENAPI_DIR, file), "utf8"));
    this.id = `urn:egressctl:${file}`;
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: this.id, $defs: this.rewrite(this.doc.components?.schemas ?? {}) });
  }

  /** #/components/schemas/X → this document's registered $defs */
  private rewrite(node: unknown): any {
    if (Array.isArray(node)) return node.map((n) => this.rewrite(n));
    if (node === null || typeof node !== "object") return node;
    const out: Obj = {};
    for (const [k, v] of Object.entries(node)) {
      out[k] = k === "$ref" && typeof v === "string" && v.startsWith("#/components/schemas/") ? `${this.id}#/$defs/${v.slice(21)}` : this.rewrite(v);
    }
    return out;
  }

  private deref(o: Obj): Obj {
    const ref = o?.$ref;
    if (typeof ref !== "string") return o;
    const m = /^#\/components\/responses\/(.+)$/.exec(ref);
    if (!m || !this.doc.components?.responses?.[m[1]!]) throw new Error(`${this.file}: cannot resolve ${ref}`);
    return this.doc.components.responses[m[1]!];
  }

  private validator(schema: object): ValidateFunction {
    let v = this.compiled.get(schema);
    if (!v) this.compiled.set(schema, (v = this.ajv.compile(this.rewrite(schema))));
    return v;
  }

  /** what is wrong with one exchange (nothing: []) */
  check(r: Recorded): string[] {
    const where = `${r.method} ${r.path} → ${r.status}`;
    const pathname = r.path.split("?")[0]!;
    const item = this.doc.paths?.[pathname];
    const responses = item ? item[r.method.toLowerCase()]?.responses : this.doc["x-other-paths"];
    if (!responses) return [`${where}: ${item ? "this method is" : "this path is"} not in ${this.file}`];
    const raw = responses[String(r.status)] ?? responses.default;
    if (!raw) return [`${where}: status ${r.status} is not documented in ${this.file}`];
    const resp = this.deref(raw);
    const problems: string[] = [];
    for (const [name, h] of Object.entries((resp.headers ?? {}) as Obj)) {
      const value = r.headers[name.toLowerCase()];
      if (value === undefined) {
        if (h.required) problems.push(`${where}: header ${name} is missing`);
      } else if (h.schema && !this.validator(h.schema)(value)) problems.push(`${where}: header ${name}: ${this.ajv.errorsText(this.validator(h.schema).errors)}`);
    }
    if (r.method === "HEAD" || r.body === "") return problems;
    const type = (r.headers["content-type"] ?? "").split(";")[0]!.trim();
    const media = resp.content?.[type];
    if (!media) return [...problems, `${where}: a ${type || "untyped"} body is not documented (documented: ${Object.keys(resp.content ?? {}).join(", ") || "no body"})`];
    let value: unknown = r.body;
    if (type === "application/json") {
      try {
        value = JSON.parse(r.body);
      } catch {
        return [...problems, `${where}: the body is not JSON`];
      }
    }
    const v = this.validator(media.schema ?? {});
    if (!v(value)) problems.push(`${where}: ${describeErrors(v.errors ?? [])}`);
    return problems;
  }
}

/** the headers curl's -D file holds (of the last response), names lowercased */
export function parseHeaderDump(text: string): Record<string, string> {
  const blocks = text.split(/\r?\n\r?\n/).filter((b) => b.trim());
  const out: Record<string, string> = {};
  for (const line of (blocks[blocks.length - 1] ?? "").split(/\r?\n/).slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

/** ajv's errors, each with what it names (the extra property, the allowed values) */
function describeErrors(errors: { instancePath: string; message?: string; params: Record<string, unknown> }[]): string {
  return errors
    .map((e) => {
      const p = e.params;
      const what = p.additionalProperty ? ` '${p.additionalProperty}'` : p.allowedValues ? ` ${JSON.stringify(p.allowedValues)}` : p.allowedValue !== undefined ? ` ${JSON.stringify(p.allowedValue)}` : "";
      return `body${e.instancePath} ${e.message}${what}`;
    })
    .join("; ");
}
