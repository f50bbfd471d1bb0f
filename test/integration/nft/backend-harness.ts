// Runs inside a lab namespace (lab.exec): opens the nft backend named on argv
// (library | binary), runs each script read as a JSON list on stdin, and prints each
// result as JSON, with listTableJson's answer last. bun:ffi acts on the namespace of
// this process, which is why this is a separate script.
import { kernelSettings } from "../../../src/core/config/kernel-settings.ts";
import { openNftBackend } from "../../../src/effects/nft/backend.ts";

const kind = process.argv[2]!;
const backend = openNftBackend({ ...kernelSettings(process.env), nftBackend: kind });
if ("unavailable" in backend) {
  console.log(JSON.stringify({ unavailable: backend.unavailable }));
  process.exit(0);
}
const scripts: string[] = JSON.parse(await Bun.stdin.text());
const results = scripts.map((s) => backend.run(s));
let listing: unknown;
try {
  listing = { value: backend.listTableJson() };
} catch (e) {
  listing = { threw: (e as Error).message };
}
console.log(JSON.stringify({ kind: backend.kind, results, listing }));
