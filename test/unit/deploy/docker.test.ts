// The `docker run` lines in docs/install.md say what deploy/docker/compose.yaml says:
// every flag the compose file implies (test/support/compose.ts translates it) is on the
// matching line of the docs, so neither can change alone.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import { composeRuns } from "../../support/compose.ts";

const ROOT = resolve(import.meta.dir, "../../..");
const FILE = resolve(ROOT, "deploy/docker/compose.yaml");

test("docs/install.md's docker run lines carry every flag of the compose file", () => {
  const runs = composeRuns(FILE, parse(readFileSync(FILE, "utf8")), { EGRESSCTL_UPSTREAM: "$EGRESSCTL_UPSTREAM", EGRESSCTL_TOKEN: "$EGRESSCTL_TOKEN" });
  const docs = readFileSync(resolve(ROOT, "docs/install.md"), "utf8");
  const block = /The same with `docker run`[^\n]*\n\n```sh\n([\s\S]*?)```/.exec(docs)?.[1];
  expect(block).toBeDefined();
  // one logical line per `docker run`, continuations joined, quotes dropped
  const lines = block!.replace(/\\\n\s*/g, " ").split("\n").filter((l) => l.startsWith("docker run")).map((l) => l.replace(/"/g, ""));
  expect(lines).toHaveLength(runs.length);
  for (const r of runs) {
    const line = lines.find((l) => l.includes(`--name ${r.name} `));
    expect(line).toBeDefined();
    const pairs: string[] = [];
    for (let i = 0; i < r.flags.length; i++) {
      const f = r.flags[i]!;
      if (f === "--health-cmd") {
        i++; // the image's own HEALTHCHECK (docker's --health-cmd would need a shell)
        continue;
      }
      const takesValue = i + 1 < r.flags.length && !r.flags[i + 1]!.startsWith("--");
      pairs.push(takesValue ? `${f} ${r.flags[++i]!.replace(resolve(ROOT), "$PWD")}` : f);
    }
    for (const p of pairs) expect(`${line} `).toContain(`${p} `);
    expect(line).toContain(` ${r.image} ${r.command.join(" ")}`.replace(/"/g, "").split(" -c ")[0]!);
  }
});

test("the compose file runs this version's image, with a policy that validates", async () => {
  const { version } = await import("../../../package.json");
  const { loadPolicyText } = await import("../../../src/core/policy/load.ts");
  const compose = parse(readFileSync(FILE, "utf8"));
  expect(compose.services.egress.image).toBe(`egressctl:${version}`);
  const r = loadPolicyText(readFileSync(resolve(ROOT, "deploy/docker/policy/policy.yaml"), "utf8"), { source: "deploy/docker/policy/policy.yaml" });
  expect(r.problems.filter((p) => p.severity === "error")).toEqual([]);
  expect(r.policy).toBeDefined();
});
