// A policy from a Kubernetes ConfigMap volume, updated the way the kubelet updates it
// (its AtomicWriter): the files live in a timestamped directory, `..data` points at it,
// and `policy.yaml` is a symlink through `..data`. An update writes a new timestamped
// directory, points `..data_tmp` at it, renames `..data_tmp` over `..data` (the one
// atomic step) and removes the old directory. serve, given the symlink path as
// deploy/kubernetes/ gives it, must see each swap (its watcher, reload.ts) and reload.
import { describe, expect, test } from "bun:test";
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Lab } from "../../support/lab.ts";
import { args, dig, kernelDigest, policyText, serve, status, useLab } from "./helpers-serve.ts";

let lab: Lab;
useLab((l) => {
  lab = l;
});

let stamp = 0;
/** the kubelet's AtomicWriter, for one file: returns the path the pod reads */
function configMapVolume(dir: string, text: string): { path: string; update(text: string): void } {
  mkdirSync(dir, { recursive: true });
  const write = (t: string) => {
    const ts = `..2026_12_01_00_00_${String(++stamp).padStart(2, "0")}.${100000 + stamp}`;
    mkdirSync(join(dir, ts));
    writeFileSync(join(dir, ts, "policy.yaml"), t);
    return ts;
  };
  let current = write(text);
  symlinkSync(current, join(dir, "..data"));
  symlinkSync("..data/policy.yaml", join(dir, "policy.yaml"));
  return {
    path: join(dir, "policy.yaml"),
    update(t: string) {
      const next = write(t);
      symlinkSync(next, join(dir, "..data_tmp"));
      renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
      rmSync(join(dir, current), { recursive: true, force: true });
      current = next;
    },
  };
}

describe("a policy mounted from a ConfigMap", () => {
  test("each ..data symlink swap is seen and reloaded; a bad update is refused and the old policy stays", async () => {
    const vol = configMapVolume(join(lab.dir, "configmap"), policyText(["api.example.com"]));
    const s = await serve(lab, args(vol.path));
    expect((await dig(lab, "api.example.com")).rcode).toBe("NOERROR");
    expect((await dig(lab, "other.example.com")).rcode).toBe("NXDOMAIN");
    const reloaded = () => s.events.filter((e) => e.event === "policy.applied" && e.why !== undefined).length;

    vol.update(policyText(["other.example.com"]));
    const first = await s.waitEvent((e) => e.event === "policy.applied" && e.why !== undefined);
    expect((await dig(lab, "other.example.com")).addresses).toEqual(["198.51.100.11"]);
    expect((await dig(lab, "api.example.com")).rcode).toBe("NXDOMAIN");
    expect(await kernelDigest(lab)).toBe(first.digest);

    // a second swap: the watch survived the first (the old directory is gone)
    vol.update(policyText(["api.example.com", "other.example.com"]));
    await s.waitEvent((e) => e.event === "policy.applied" && e.why !== undefined && e.digest !== first.digest);
    expect(reloaded()).toBe(2);
    expect((await dig(lab, "api.example.com")).rcode).toBe("NOERROR");
    const good = (await status(s)).policy.digest;

    // an update that does not validate: refused, the policy in force stays
    vol.update("defaultAction: deny\negress:\n  - { action: maybe, target: api.example.com }\n");
    const rej = await s.waitEvent((e) => e.event === "policy.reload.rejected");
    expect(rej.kept).toBe(good);
    expect((await status(s)).policy.digest).toBe(good);
    expect((await dig(lab, "api.example.com")).rcode).toBe("NOERROR");
    expect(reloaded()).toBe(2);
  });
});
