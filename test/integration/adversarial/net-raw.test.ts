// CAP_NET_RAW in the application is a full bypass, as CAP_NET_ADMIN is: an AF_PACKET
// socket sends frames below netfilter (shown here: a frame to a denied address gets out
// and is answered), and SO_MARK forges the proxy's exemption. egressctl cannot stop it
// from inside the namespace; where serve shares the PID namespace with the application
// (the lab shares the host's), serve and doctor find such processes and say so. The two
// identities an application should have are found to hold neither capability, and
// cannot open an AF_PACKET socket.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "bun:test";
import { as, IDENTITIES } from "../../support/attacker.ts";
import { BIN } from "../../support/serve.ts";
import { waitFor, type Lab } from "../../support/lab.ts";
import { LAB, WITH_NET_RAW, attack, attackLines, useAdversarialLab } from "./support.ts";

const get = useAdversarialLab({ flags: ["--selftest-interval", "1"] });


async function doctor(): Promise<{ code: number; json: any }> {
  const { lab, served } = get();
  const r = await lab.exec("sandbox", [BIN, "doctor", "--json", "--socket", served.socket]);
  return { code: r.code, json: JSON.parse(r.stdout) };
}

/**
 * Until `ip netns exec` and setpriv have exec'd the command: before that, for an instant,
 * they run as full root in the sandbox, and a scan then would rightly report them.
 */
async function execd(pid: number, comm: string): Promise<void> {
  await waitFor(`pid ${pid} to be ${comm}`, () => {
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === comm;
    } catch {
      return false;
    }
  });
}

async function link(lab: Lab, side: "sandbox" | "world"): Promise<{ name: string; mac: string }> {
  const r = await lab.exec(side, ["ip", "-j", "link", "show"]);
  const l = JSON.parse(r.stdout).find((x: any) => x.ifname !== "lo");
  return { name: l.ifname, mac: l.address };
}

describe("the identities an application should have", () => {
  test("long-running as nobody and as root-nocap: examined, not reported; doctor passes", async () => {
    const { lab } = get();
    const sleepers = IDENTITIES.map((who) => lab.spawn("sandbox", as(who, ["sleep", "300"])));
    try {
      for (const p of sleepers) await execd(p.pid, "sleep");
      const d = await doctor();
      expect(d.json.exposure.privileged.found).toEqual([]);
      expect(d.json.exposure.privileged.examined).toBeGreaterThanOrEqual(2);
      expect(d.json.findings.find((f: any) => f.check === "exposure.capabilities").status).toBe("ok");
      expect(d.code).toBe(0);
    } finally {
      for (const p of sleepers) await lab.stop(p, "SIGKILL");
    }
  });

  for (const who of IDENTITIES) {
    test(`${who}: no AF_PACKET socket (EPERM)`, async () => {
      const { lab } = get();
      const sb = await link(lab, "sandbox");
      const w = await link(lab, "world");
      expect(await attack(lab, who, ["rawframe", sb.name, w.mac, LAB.sandboxV4, "198.51.100.66", "9"])).toBe("PermissionError errno=1");
    });
  }
});

describe("an application holding CAP_NET_RAW", () => {
  test("its AF_PACKET frame to a denied address gets out and is answered (the documented limit)", async () => {
    const { lab } = get();
    const sb = await link(lab, "sandbox");
    const w = await link(lab, "world");
    // the same datagram through the socket layer is refused: the filter is in force
    expect(await attack(lab, "root-nocap", ["udp", "198.51.100.67", "9"])).toBe("PermissionError errno=1");
    expect(await attackLines(lab, WITH_NET_RAW, ["rawframe", sb.name, w.mac, LAB.sandboxV4, "198.51.100.67", "9"])).toEqual(["frame sent", "reached ok 198.51.100.67 raw"]);
  });

  test("found by serve's self-test (privileged.found, /status) and by doctor (FAIL, exit 1); cleared once gone", async () => {
    const { lab, served } = get();
    const raw = lab.spawn("sandbox", [...WITH_NET_RAW, "sleep", "300"]);
    // a non-root process whose bounding set still holds both: it regains them by exec
    const bounded = lab.spawn("sandbox", ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "300"]);
    try {
      await execd(raw.pid, "sleep");
      await execd(bounded.pid, "sleep");
      const found = (e: Record<string, any>, pid: number) => e.processes.some((p: any) => p.pid === pid && p.name === "sleep");
      const ev = await served.waitEvent((e) => e.event === "privileged.found" && found(e, raw.pid) && found(e, bounded.pid));
      expect(ev.level).toBe("error");
      expect(ev.processes.find((p: any) => p.pid === raw.pid)).toMatchObject({ name: "sleep", uid: 0, effective: ["NET_RAW"], bounding: [] });
      expect(ev.processes.find((p: any) => p.pid === bounded.pid)).toMatchObject({ uid: 65534, effective: [], bounding: ["NET_ADMIN", "NET_RAW"] });
      const st = JSON.parse((await served.get("/status")).body);
      expect(st.privileged.found.map((p: any) => p.pid).sort()).toEqual([raw.pid, bounded.pid].sort());
      const d = await doctor();
      expect(d.code).toBe(1);
      const fails = d.json.findings.filter((f: any) => f.check === "exposure.capabilities" && f.status === "fail").map((f: any) => f.message);
      expect(fails.join("\n")).toContain(`pid ${raw.pid} (sleep, uid 0) holds NET_RAW (effective)`);
      expect(fails.join("\n")).toContain(`pid ${bounded.pid} (sleep, uid 65534) holds NET_ADMIN (bounding set: regained by exec), NET_RAW (bounding set: regained by exec)`);
    } finally {
      await lab.stop(raw, "SIGKILL");
      await lab.stop(bounded, "SIGKILL");
    }
    // the next self-tests find neither (transient root helpers of the test may come and go: wait for a scan without them)
    await served.waitEvent((e) => e.event === "privileged.cleared" && served.events.indexOf(e) > served.events.findIndex((x) => x.event === "privileged.found" && x.processes.some((p: any) => p.pid === raw.pid)));
    expect((await doctor()).code).toBe(0);
  });
});
