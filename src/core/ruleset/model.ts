// The ruleset as plain data: what the planner decides and the renderer prints. Nothing
// here knows nft syntax beyond the text of individual rules.
import type { Family } from "../net/ip.ts";
import type { CidrList } from "./cidr-list.ts";
import type { DohList, DohStance } from "./doh.ts";
import type { InboundFrom } from "./inbound.ts";

export type Mode = "dns-only" | "dns+nftables";

/** an upstream resolver the proxy forwards to; its marked traffic is let out */
export interface Upstream {
  family: Family;
  address: string;
  port: number;
}

/** where the upstreams came from: flags or environment, or resolv.conf at a first start */
export type UpstreamOrigin = "configured" | "resolv.conf";

/** Everything besides the policy that shapes the ruleset. */
export interface PlanEnv {
  mode: Mode;
  proxyPort: number;
  /** empty: marked traffic to any address on port 53 is let out */
  upstreams: Upstream[];
  /** recorded with the upstreams in the kernel, so a later start knows it too */
  upstreamOrigin: UpstreamOrigin;
  exemptMark: number;
  doh: DohList;
  /** where the DoH block sits (doh.ts); default "listed" */
  dohStance?: DohStance;
  /** where serve's own marked TCP connections may go besides DNS: the deny webhook's receiver */
  webhook: Upstream[];
  /** OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT: DNS to these goes out directly (nameserver-exempt.ts) */
  nameserverExempt: CidrList;
  /** --inbound-from: whose flows into the sandbox may be answered (dns+nftables only) */
  inbound: InboundFrom;
  audit: boolean;
  dropSilently: boolean;
  /** elements each learned set holds at most (the kernel's `size`); default DEFAULT_MAX_ELEMENTS */
  learnedMax?: number;
}

export interface NftRule {
  /** the rule's statement, as written after `add rule inet egressctl CHAIN` */
  text: string;
  /** why the rule is there; rendered as a comment line above it */
  why?: string;
}

export interface BaseChain {
  type: "filter" | "nat";
  hook: "output" | "prerouting";
  priority: number;
  policy: "accept" | "drop";
}

export interface NftChain {
  name: string;
  base?: BaseChain;
  /** kernel-side chain comment; carries the policy digest for doctor/serve */
  comment?: string;
  rules: NftRule[];
}

export interface NftSet {
  name: string;
  family: Family;
  /** interval: `addr`, `addr/prefix` or `first-last`; endpoints: `addr . port comment "..."` */
  kind: "interval" | "endpoints";
  /** said in the rendered text above the set */
  purpose: string;
  elements: string[];
}

export interface Ruleset {
  policyDigest: string;
  /** digest of the always lists' address sets, when they hold any */
  alwaysDigest?: string;
  mode: Mode;
  audit: boolean;
  dropSilently: boolean;
  /** default timeout of learned4/learned6, seconds */
  learnedTimeout: number;
  /** elements each learned set holds at most (`size`): the kernel refuses more (ENFILE) */
  learnedSize: number;
  counters: string[];
  /** rebuilt sets to create (every rebuilt set is removed first regardless, render.ts) */
  sets: NftSet[];
  /** in creation order: chains that are jumped to come before those that jump */
  chains: NftChain[];
}
