// The lifecycle serve's parts run in (src/core/lifecycle/): started in order, stopped in
// reverse; a failed start stops what had started, told why; a throwing stop does not
// keep the others running. And the kernel lane: one job at a time, in order.
import { expect, test } from "bun:test";
import { Lane } from "../../../src/core/lifecycle/lane.ts";
import { Lifecycle, StartRefused, type Part, type StopReason } from "../../../src/core/lifecycle/lifecycle.ts";

function part(name: string, log: string[], o: { failStart?: boolean; failStop?: boolean } = {}): Part {
  return {
    name,
    async start() {
      await Bun.sleep(0);
      if (o.failStart) throw new StartRefused(5, `${name} refused`);
      log.push(`start ${name}`);
    },
    stop(why: StopReason) {
      log.push(`stop ${name} (${why})`);
      if (o.failStop) throw new Error(`${name} stop failed`);
    },
  };
}

test("parts start in order and stop in reverse", async () => {
  const log: string[] = [];
  const life = new Lifecycle().append(part("a", log), part("b", log), part("c", log));
  expect(life.order).toEqual(["a", "b", "c"]);
  await life.start();
  await life.stop();
  expect(log).toEqual(["start a", "start b", "start c", "stop c (shutdown)", "stop b (shutdown)", "stop a (shutdown)"]);
  await life.stop(); // a second stop stops nothing again
  expect(log.length).toBe(6);
});

test("a part that fails to start: the ones before it stop, in reverse, and the failure reaches the caller", async () => {
  const log: string[] = [];
  const life = new Lifecycle().append(part("a", log), part("b", log), part("c", log, { failStart: true }), part("d", log));
  const err = await life.start().then(() => null, (e) => e);
  expect(err).toBeInstanceOf(StartRefused);
  expect((err as StartRefused).exitCode).toBe(5);
  expect(log).toEqual(["start a", "start b", "stop b (failed-start)", "stop a (failed-start)"]);
});

test("a stop that throws is reported; the others still stop", async () => {
  const log: string[] = [];
  const errors: string[] = [];
  const life = new Lifecycle((name, e) => errors.push(`${name}: ${e.message}`)).append(part("a", log), part("b", log, { failStop: true }), part("c", log));
  await life.start();
  await life.stop();
  expect(log.slice(3)).toEqual(["stop c (shutdown)", "stop b (shutdown)", "stop a (shutdown)"]);
  expect(errors).toEqual(["b: b stop failed"]);
});

test("the lane runs one job at a time, in the order asked, whatever each one's outcome", async () => {
  const lane = new Lane();
  const log: string[] = [];
  let release!: () => void;
  let started!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const running = new Promise<void>((r) => (started = r));
  const first = lane.run(async () => {
    log.push("1 start");
    started();
    await gate;
    log.push("1 end");
    throw new Error("1 failed");
  });
  const second = lane.run(() => void log.push("2"));
  const third = lane.run(async () => (log.push("3"), 3));
  expect(lane.size).toBe(3);
  await running;
  expect(log).toEqual(["1 start"]); // the others wait for the first, however long it takes
  release();
  await expect(first).rejects.toThrow("1 failed");
  expect(await third).toBe(3);
  await second;
  expect(log).toEqual(["1 start", "1 end", "2", "3"]);
  expect(lane.size).toBe(0);
});
