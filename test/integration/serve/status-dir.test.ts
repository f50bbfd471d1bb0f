// The status socket's directory is serve's own: created 0700; an existing one with
// another mode or owner is fixed (a tmpfs comes 1777), and the log says what it was; a
// system directory others share (/tmp, /run) or a symbolic link is refused, and one that
// cannot be made is a failure, both before anything is loaded. The socket is 0600.
import { chmodSync, chownSync, mkdirSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "bun:test";
import type { Lab } from "../../support/lab.ts";
import { existsSync } from "node:fs";
import { args, BIN, egressctlTables, jsonLines, LAB_ENV, useLab, waitUntil } from "./helpers-serve.ts";

let lab!: Lab;
useLab((l) => void (lab = l));

/** serve with its socket at `socket`; resolves with its log once ready, then stops it; the socket's mode while it ran */
async function serveAt(socket: string): Promise<Record<string, any>[]> {
  const ready = join(lab.dir, `ready-${Math.random().toString(36).slice(2)}`);
  const p = lab.spawn("sandbox", [BIN, ...args(null), "--status-socket", socket, "--ready-file", ready], { env: { EGRESSCTL_ASSUME_SANDBOX: "1", ...LAB_ENV } });
  try {
    await waitUntil("serve ready", () => {
      if (p.exitCode !== null) throw new Error(`serve exited ${p.exitCode}`);
      return existsSync(ready);
    }, 15_000);
    socketModes.push(mode(socket));
  } finally {
    await lab.stop(p);
  }
  return jsonLines(await new Response(p.stderr).text());
}

/** serve that must refuse: its exit code and log */
async function refusedAt(socket: string): Promise<{ code: number; events: Record<string, any>[] }> {
  const r = await lab.exec("sandbox", [BIN, ...args(null), "--status-socket", socket], { env: { EGRESSCTL_ASSUME_SANDBOX: "1", ...LAB_ENV }, timeoutMs: 15_000 });
  return { code: r.code, events: jsonLines(r.stderr) };
}

const socketModes: string[] = [];
const mode = (path: string) => (statSync(path).mode & 0o7777).toString(8);

test("a missing directory is created 0700 (its parents too), no event", async () => {
  const dir = join(lab.dir, "run", "egressctl");
  const events = await serveAt(join(dir, "egressctl.sock"));
  expect(mode(dir)).toBe("700");
  expect(statSync(dir).uid).toBe(0);
  expect(events.some((e) => e.event === "status.dir_fixed")).toBe(false);
  expect(socketModes.at(-1)).toBe("600"); // the socket itself: only serve's user connects
});

test("an existing directory with another mode and owner is fixed, and the log says what it was", async () => {
  const dir = join(lab.dir, "loose");
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  chownSync(dir, 65534, 65534);
  const events = await serveAt(join(dir, "s.sock"));
  expect(mode(dir)).toBe("700");
  expect(statSync(dir).uid).toBe(0);
  const ev = events.find((e) => e.event === "status.dir_fixed")!;
  expect(ev).toMatchObject({ level: "warn", path: dir, was: { mode: "0755", uid: 65534, gid: 65534 }, now: { mode: "0700", uid: 0 } });
  // right already: left alone, nothing said
  expect((await serveAt(join(dir, "s.sock"))).some((e) => e.event === "status.dir_fixed")).toBe(false);
});

test("a world-writable sticky directory of its own (a tmpfs' default) is fixed like any other", async () => {
  const dir = join(lab.dir, "tmpfs-like");
  mkdirSync(dir);
  chmodSync(dir, 0o1777);
  const events = await serveAt(join(dir, "s.sock"));
  expect(mode(dir)).toBe("700");
  expect(events.find((e) => e.event === "status.dir_fixed")).toMatchObject({ was: { mode: "1777", uid: 0 } });
});

test("a shared system directory or a symbolic link is refused with exit 2; one that cannot be made fails with exit 1; nothing loaded", async () => {
  const link = join(lab.dir, "link");
  symlinkSync(lab.dir, link);
  for (const [dir, why] of [[link, /symbolic link/], ["/tmp", /shared with others/], ["/run", /shared with others/]] as const) {
    const r = await refusedAt(join(dir, "s.sock"));
    expect(r.code).toBe(2);
    expect(r.events.find((e) => e.event === "serve.refused")?.reason).toMatch(why);
    expect(await egressctlTables(lab)).toBe(0);
  }
  // its parent is a file: the directory cannot be made (as on a read-only root)
  const file = lab.file("not-a-dir", "");
  const r = await refusedAt(join(file, "sub", "s.sock"));
  expect(r.code).toBe(1);
  expect(r.events.find((e) => e.event === "serve.failed")?.reason).toMatch(/status socket's directory/);
  expect(await egressctlTables(lab)).toBe(0);
});
