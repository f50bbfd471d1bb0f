// A serve restarted in another mode must not leave the previous mode's kernel state in
// force behind its back: a dns+nftables table kept by a serve now running disabled would
// still drop every unlearned destination while /status said nothing is enforced, and an
// iptables redirect to an old port would fight the nftables one. Only our own objects are
// removed (table inet egressctl, the EGRESSCTL-* chains of the iptables fallback), and
// only when present.
import { renderDelete } from "../../core/ruleset/render.ts";
import type { EventLog } from "../../effects/log/events.ts";
import { iptablesRedirectPresent, removeIptablesRedirect } from "../../effects/iptables/redirect.ts";
import { openNftBackend } from "../../effects/nft/backend.ts";
import type { KernelSettings } from "../../core/config/kernel-settings.ts";

export function removeStaleState(redirect: "nftables" | "iptables" | null, iptablesUsable: boolean, kernel: KernelSettings, log: EventLog): void {
  if (redirect !== "nftables") {
    const nft = openNftBackend(kernel);
    if (!("unavailable" in nft) && nft.listTableJson() !== null) {
      const r = nft.run(renderDelete());
      log.emit("stale.removed", { what: "table inet egressctl", ok: r.ok, ...(r.ok ? {} : { error: r.error }) }, r.ok ? "warn" : "error");
    }
  }
  if (redirect !== "iptables" && iptablesUsable && iptablesRedirectPresent()) {
    removeIptablesRedirect();
    log.emit("stale.removed", { what: "iptables chains EGRESSCTL-*", ok: !iptablesRedirectPresent() }, "warn");
  }
}
