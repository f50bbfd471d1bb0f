// The hostile application, as the adversarial suite runs it: every attack is tried from
// the sandbox side under both identities an application inside a sandbox realistically
// has, and must be refused under both.
//
//   nobody     uid/gid 65534, no supplementary groups, no capabilities at all (the
//              bounding set emptied, so nothing can be regained through exec)
//   root-nocap uid 0 with CAP_NET_ADMIN and CAP_NET_RAW removed from every set: what a
//              container engine gives a root container once the platform drops those two
//              (it keeps CAP_DAC_OVERRIDE, CAP_CHOWN, ... and can rewrite /etc/resolv.conf)
//
// An identity is a setpriv prefix; `as(who, argv)` gives the argv to hand to lab.exec or
// lab.spawn in the sandbox namespace.
export type Identity = "nobody" | "root-nocap";

export const IDENTITIES: readonly Identity[] = ["nobody", "root-nocap"];

const PREFIX: Record<Identity, string[]> = {
  nobody: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all"],
  "root-nocap": ["setpriv", "--inh-caps=-net_admin,-net_raw", "--ambient-caps=-net_admin,-net_raw", "--bounding-set=-net_admin,-net_raw"],
};

/** argv that runs `argv` as the given identity (setpriv drops the rest before exec) */
export function as(who: Identity, argv: string[]): string[] {
  return [...PREFIX[who], ...argv];
}
