// The self-test part: measures, from inside the namespace, what is really enforced
// (selftest.ts), with the scan for processes that could bypass serve (NET_RAW or
// NET_ADMIN) and a retry of learned-address removals the kernel refused. Run once at
// start, before ready, then every --selftest-interval; never two at once.
import type { Part } from "../../../core/lifecycle/lifecycle.ts";
import type { Mode } from "../../../core/probe/modes.ts";
import type { Measured } from "../../../core/status/level.ts";
import { expectedAlwaysDigest } from "../../../core/ruleset/plan.ts";
import type { EventLog } from "../../../effects/log/events.ts";
import type { Enforcer } from "../enforcer.ts";
import type { PrivilegeWatch } from "../privilege-watch.ts";
import { ProbeNames, runSelfTest } from "../selftest.ts";
import type { Learner } from "./learner.ts";
import type { PolicyView } from "./live-cell.ts";

export interface SelfTestInputs {
  mode: Mode;
  enforcer: Enforcer;
  learner: Pick<Learner, "table" | "pending">;
  policy: PolicyView;
  /** where the probe query is sent: an upstream that is not an exempt nameserver */
  target: { address: string; family: 4 | 6 };
  privileged: PrivilegeWatch;
  intervalMs: number;
  log: EventLog;
}

export interface SelfTestPart extends Part {
  /** the names the probe is waiting for; the proxy's decision reports every name it sees */
  readonly probes: ProbeNames;
  /** what the last self-test measured; null before the first */
  readonly measured: Measured | null;
}

export function selfTestPart(i: SelfTestInputs): SelfTestPart {
  const { enforcer, log } = i;
  const probes = new ProbeNames();
  let measured: Measured | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  const { table, pending } = i.learner;
  const run = async (): Promise<Measured> => {
    await pending.retry((a) => enforcer.forget(a), table, log);
    i.privileged.check();
    const m = await runSelfTest({
      enforcer,
      target: i.target,
      expectedDigest: () => (enforcer.via === "nftables" && enforcer.mode === "dns+nftables" ? i.policy.live.digest : null),
      expectedAlways: () => expectedAlwaysDigest(i.policy.live.always),
      // an address the table holds for a while yet, so the kernel must hold it too
      someLearned: () => table.someLiving(Date.now(), 10_000),
      expectName: (name, ms) => probes.expect(name, ms),
    });
    if (pending.size) {
      m.findings.push(`${pending.size} learned address(es) of names the policy no longer allows could not be removed from the kernel`);
      if (m.level === "dns+nftables") m.level = "dns-only";
    }
    const changed = measured?.level !== m.level || m.findings.length > 0;
    measured = m;
    if (changed) log.emit("selftest", { measured: m.level, intended: i.mode, findings: m.findings }, m.level === i.mode ? "info" : "error");
    return m;
  };
  return {
    name: "self-test",
    probes,
    get measured() {
      return measured;
    },
    async start() {
      await run();
      // timers must never throw (an exception in one would end serve), nor overlap
      let testing = false;
      timer = setInterval(() => {
        if (testing) return;
        testing = true;
        run()
          .catch((e) => log.emit("serve.error", { what: "selftest", error: (e as Error).message }, "error"))
          .finally(() => (testing = false));
      }, i.intervalMs);
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
