// watchReloads: SIGHUP and changes in the policy file's directory, collapsed into one
// reload per quiet period; a SIGHUP in the period is never downgraded by a file event.
// No test sleeps and then expects nothing. Each writes an unrelated file last and waits
// until the watcher has seen it (inotify delivers a directory's events in order, so
// every earlier event has been delivered), then waits until a reload has run after the
// last trigger that counts: from then on no trigger is left and no reload is pending.
import { afterEach, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { watchReloads } from "../../../src/app/serve/reload.ts";
import { waitFor } from "../../support/lab.ts";

const dir = mkdtempSync(join(tmpdir(), "egressctl-watch-"));
const path = join(dir, "policy.yaml");
writeFileSync(path, "egress: []\n");
const stops: (() => void)[] = [];
afterEach(() => stops.splice(0).forEach((stop) => stop()));

// the test's own signal source: emitting a real SIGHUP at this process would reach every
// other handler in the test run (the lab's clean-up handler exits)
const signals = new EventEmitter();

let sentinels = 0;
const collect = () => {
  /** triggers as the watcher saw them ("saw X") and reloads ("reload WHY"), in order */
  const log: string[] = [];
  const stop = watchReloads(path, (why) => log.push(`reload ${why}`), 100, signals, (what) => log.push(`saw ${what}`));
  stops.push(stop);
  const reloads = () => log.filter((l) => l.startsWith("reload ")).map((l) => l.slice(7));
  /** every event delivered, and a reload after the last trigger that counts: nothing pending */
  const settled = async () => {
    const name = `sentinel-${++sentinels}.txt`;
    writeFileSync(join(dir, name), "");
    await waitFor(`the watcher saw ${name}`, () => log.includes(`saw ${name}`));
    const last = (pred: (l: string) => boolean) => log.reduce((at, l, i) => (pred(l) ? i : at), -1);
    const counts = (l: string) => l === "saw SIGHUP" || l === "saw policy.yaml";
    await waitFor("a reload after the last trigger", () => last((l) => l.startsWith("reload ")) > last(counts));
  };
  return { log, reloads, stop, settled };
};

test("a file replaced by rename reloads once, naming the file", async () => {
  const w = collect();
  writeFileSync(join(dir, "new.yaml"), "egress: []\n");
  renameSync(join(dir, "new.yaml"), path);
  await w.settled();
  expect(w.log).toContain("saw policy.yaml");
  expect(w.reloads()).toEqual(["policy.yaml changed"]);
});

test("SIGHUP then a file event in the same quiet period: one reload, still a SIGHUP", async () => {
  const w = collect();
  signals.emit("SIGHUP");
  writeFileSync(path, "egress: []\n");
  await w.settled();
  expect(w.log.slice(0, 2)).toEqual(["saw SIGHUP", "saw policy.yaml"]);
  expect(w.reloads()).toEqual(["SIGHUP"]);
});

test("after stop, nothing reloads (while a watcher still running reloads for the same events)", async () => {
  const stopped = collect();
  stopped.stop();
  const control = collect(); // started after the stop: it must hear what the stopped one does not
  signals.emit("SIGHUP");
  writeFileSync(path, "egress: []\n");
  await control.settled();
  expect(control.reloads()).toEqual(["SIGHUP"]);
  expect(stopped.log).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});
