// watchReloads: SIGHUP and changes in the policy file's directory, collapsed into one
// reload per quiet period; a SIGHUP in the period is never downgraded by a file event.
import { afterEach, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { watchReloads } from "../../../src/app/serve/reload.ts";

const dir = mkdtempSync(join(tmpdir(), "egressctl-watch-"));
const path = join(dir, "policy.yaml");
writeFileSync(path, "egress: []\n");
let stop: (() => void) | null = null;
afterEach(() => stop?.());

// the test's own signal source: emitting a real SIGHUP at this process would reach every
// other handler in the test run (the lab's clean-up handler exits)
const signals = new EventEmitter();

const collect = () => {
  const calls: string[] = [];
  stop = watchReloads(path, (why) => calls.push(why), 100, signals);
  return calls;
};

test("a file replaced by rename reloads once, naming the file", async () => {
  const calls = collect();
  writeFileSync(join(dir, "new.yaml"), "egress: []\n");
  renameSync(join(dir, "new.yaml"), path);
  await Bun.sleep(400);
  expect(calls).toEqual(["policy.yaml changed"]);
});

test("SIGHUP then a file event in the same quiet period: one reload, still a SIGHUP", async () => {
  const calls = collect();
  signals.emit("SIGHUP");
  writeFileSync(path, "egress: []\n");
  await Bun.sleep(400);
  expect(calls).toEqual(["SIGHUP"]);
});

test("after stop, nothing reloads", async () => {
  const calls = collect();
  stop!();
  stop = null;
  signals.emit("SIGHUP");
  writeFileSync(path, "egress: []\n");
  await Bun.sleep(300);
  expect(calls).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});
