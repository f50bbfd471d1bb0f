// Compiles src/main.ts into the single binary dist/egressctl.
// The binary runs as root inside someone else's container, so it must not pick up
// a .env or bunfig.toml from whatever directory it happens to start in.
import { $ } from "bun";
import pkg from "../package.json";

const commit = (await $`git rev-parse --short=12 HEAD`.nothrow().quiet().text()).trim() || "unknown";
const dirty = (await $`git status --porcelain --untracked-files=no`.nothrow().quiet().text()).trim() ? "-dirty" : "";

const result = await $`bun build --compile src/main.ts --outfile dist/egressctl \
  --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
  --no-compile-autoload-tsconfig --no-compile-autoload-package-json \
  --define EGRESSCTL_VERSION=${JSON.stringify(pkg.version)} \
  --define EGRESSCTL_COMMIT=${JSON.stringify(commit + dirty)}`.nothrow();
process.exit(result.exitCode);
