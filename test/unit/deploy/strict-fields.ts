// Kubernetes' OpenAPI schema lets unknown fields through (the API server drops them, or,
// with kubectl's default strict field validation, refuses them). kubernetes-models'
// schema validation is as lenient, so unknown fields are found here the way TypeScript
// finds them: each object becomes an object literal typed as its kubernetes-models
// interface (IDeployment, IConfigMap, ...), and the compiler's excess-property check
// names every field the API does not have, at any depth.
import ts from "typescript";
import { join } from "node:path";

export interface StrictObject {
  apiVersion: string;
  kind: string;
  /** where it came from, for the messages */
  label: string;
  value: unknown;
}

/** one message per unknown (or mistyped) field; [] when every object is clean */
export function unknownFields(root: string, objects: StrictObject[]): string[] {
  const files = new Map<string, { text: string; label: string }>();
  objects.forEach((o, i) => {
    const file = join(root, `__strict_${i}.ts`);
    const text = `import type { I${o.kind} } from "kubernetes-models/${o.apiVersion}/${o.kind}";\nexport const o: I${o.kind} = ${JSON.stringify(o.value, null, 1)};\n`;
    files.set(file, { text, label: o.label });
  });
  const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022, types: [] };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => {
    const v = files.get(name);
    return v ? ts.createSourceFile(name, v.text, lang) : getSourceFile(name, lang, ...rest);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => files.has(name) || fileExists(name);
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).flatMap((d) => {
    const v = d.file ? files.get(d.file.fileName) : undefined;
    if (!v) return [`${ts.flattenDiagnosticMessageText(d.messageText, " ")}`];
    return [`${v.label}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`];
  });
}
