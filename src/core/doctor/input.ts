// What doctor gathers before it judges anything: plain data, read by the app layer
// (src/app/doctor/) from serve's status socket, the kernel and one DNS query. The core
// turns it into findings (findings.ts) and explanations (targets.ts). Pure types.
import type { PrivilegeScan } from "../caps/privileged.ts";
import type { Policy } from "../policy/types.ts";

/** serve's /status JSON (docs/serve.md); every field optional: doctor may meet an older serve */
export interface ServeStatus {
  version?: string;
  commit?: string;
  uptimeSeconds?: number;
  mode?: string;
  redirect?: "nftables" | "iptables" | null;
  measuredLevel?: string | null;
  selfTestFindings?: string[];
  audit?: boolean;
  reasons?: string[];
  warning?: string;
  policy?: { source?: string; digest?: string; mode?: string; defaultAction?: string; rules?: number; appliedAt?: string };
  kernel?: { present?: boolean; matches?: boolean; digest?: string | null; filterHooked?: boolean; natHooked?: boolean; guardHooked?: boolean; learnedElements?: number } | null;
  learned?: { names?: number; addresses?: number };
  reloads?: { ok?: number; failed?: number; lastError?: string | null };
  dns?: { queries?: number; denied?: number; upstreams?: { upstream: string; up: boolean; failures?: number }[] } | null;
  webhook?: { url?: string; delivered?: number; failed?: number; dropped?: number; ratelimited?: number; queued?: number } | null;
  nameserverExempt?: string[];
  /** --inbound-from as in force; `enforced` false in dns-only (nothing filters packets) */
  inbound?: { from?: "any" | "none" | string[]; enforced?: boolean };
  /** configured, or read from resolv.conf at the first start (pinned: kept from the kernel's record since) */
  upstreams?: { origin?: string; pinned?: boolean; local?: string[] };
  /** serve's process id: doctor's own scan trusts it, its ancestors and its children */
  pid?: number;
  /** serve's last scan for processes holding NET_RAW or NET_ADMIN */
  privileged?: PrivilegeScan | null;
  /** the operator's always lists in force, and how many names each layer decided */
  always?: {
    dir?: string;
    digest?: string;
    deny?: AlwaysFileStatus;
    allow?: AlwaysFileStatus;
    logSkip?: AlwaysFileStatus;
    decisions?: Record<string, { allowed?: number; denied?: number }>;
  };
  /** the address guard: EGRESSCTL_PRIVATE_ANSWERS and the namespace's own addresses ("ADDR: what") */
  guard?: { privateAnswers?: string; local?: string[] };
}

export interface AlwaysFileStatus {
  path?: string;
  present?: boolean;
  targets?: string[];
  problems?: { line: number; text: string; message: string; readAs?: string }[];
}

/** one /violations entry: dns.denied or net.denied, with `at` */
export type Violation = Record<string, unknown> & { event?: string; at?: string };

/** /learned: name → addresses with expiry (ms since the epoch) */
export type LearnedMap = Record<string, { family: 4 | 6; address: string; expiresAt: number }[]>;

export type ServeView =
  | { reachable: false; error: string }
  | {
      reachable: true;
      /** /healthz: 200 "ok <level>" once ready, 503 "starting" before */
      health: { status: number; body: string };
      status: ServeStatus;
      violations: Violation[];
      learned: LearnedMap;
    };

/** doctor's own read of table inet egressctl */
export type KernelRead =
  | { listing: unknown | null; chainText: string }
  | { error: string };

/** the answer to doctor's DNS query for a name under .egressctl.invalid */
export interface DnsProbe {
  name: string;
  /** where it was sent (an upstream's address, port 53) */
  target: string;
  result: { rcode: string; ede: { code: number; text: string }[] } | { error: string };
  /** the proxy's query counter (/status dns.queries) before and after the query, when known */
  queriesBefore: number | null;
  queriesAfter: number | null;
}

/** the iptables fallback's chains, hooked or not, per family; or why they could not be read */
export type IptablesRead = { hooks: { family: 4 | 6; chain: string; hooked: boolean }[] } | { error: string };

export interface DoctorInput {
  socket: string;
  serve: ServeView;
  /** null: not read (serve reported no nftables table, or serve is unreachable and nothing was tried) */
  kernel: KernelRead | null;
  /** null: not sent (mode disabled, no upstream known, serve unreachable) */
  dns: DnsProbe | null;
  /** null: not read (serve uses no iptables fallback, or is unreachable) */
  iptables?: IptablesRead | null;
  /** doctor's own scan of /proc for processes holding NET_RAW or NET_ADMIN beside serve */
  privileged: PrivilegeScan | { error: string } | null;
  /** from --policy FILE: the explanations name rules from it */
  policy: { file: string; policy: Policy; digest: string } | null;
  targets: string[];
  now: number;
}
