// Reading and printing the manifests `egressctl inject` works on: several YAML documents,
// or JSON (one object, a `kind: List` included). Output keeps the input's form: YAML in,
// YAML out, in the style kubectl prints (lists not indented under their key, no padding
// inside flow collections), so untouched lines come out as they went in; JSON in, JSON
// out with two-space indentation.
import { parseAllDocuments, type Document } from "yaml";

export type Format = "yaml" | "json";

export type ReadResult = { ok: true; docs: Document[]; format: Format } | { ok: false; error: string };

export function readManifests(text: string, source: string): ReadResult {
  const format: Format = /^\s*[{[]/.test(text) ? "json" : "yaml";
  const all = parseAllDocuments(text, { prettyErrors: true });
  // parseAllDocuments returns an EmptyStream for empty input (no documents)
  const docs = (Array.isArray(all) ? all : []) as Document[];
  for (const d of docs) {
    const e = d.errors[0];
    if (e) return { ok: false, error: `${source}: ${e.message.split("\n")[0]}` };
  }
  const kept = docs.filter((d) => d.contents !== null);
  if (kept.length === 0) return { ok: false, error: `${source}: no manifest in it` };
  return { ok: true, docs: kept, format };
}

export function printManifests(docs: Document[], format: Format): string {
  if (format === "json") {
    const objs = docs.map((d) => d.toJS());
    return JSON.stringify(objs.length === 1 ? objs[0] : { apiVersion: "v1", kind: "List", items: objs }, null, 2) + "\n";
  }
  return docs
    .map((d) => {
      const text = d.toString({ indentSeq: false, flowCollectionPadding: false, lineWidth: 0 });
      // a document's own "---" marker; the join below puts exactly one between documents
      return text.startsWith("---\n") ? text.slice(4) : text;
    })
    .join("---\n");
}
