// Compiles src/main.ts into the single binary dist/egressctl (scripts/compile.ts).
import { compile } from "./compile.ts";

process.exit(await compile("dist/egressctl"));
