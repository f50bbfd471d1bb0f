// Which names to ask for when serve resolves a name of its own (the deny webhook's host),
// as the C library's resolver would from resolv.conf: `search` (or `domain`) and
// `options ndots:N`. Without it a Kubernetes service name such as `hook.platform` (what
// an in-cluster receiver is usually called) would never resolve. Pure.

export interface SearchConfig {
  search: string[];
  ndots: number;
}

/** resolv.conf's search domains and ndots; the last `search`/`domain` line wins, as in glibc */
export function parseSearchConfig(text: string): SearchConfig {
  let search: string[] = [];
  let ndots = 1;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === "search" || key === "domain") search = rest.map((d) => d.replace(/\.$/, "")).filter(Boolean);
    else if (key === "options") {
      for (const o of rest) {
        const m = /^ndots:(\d+)$/.exec(o);
        if (m) ndots = Math.min(15, Number(m[1])); // glibc caps it at 15
      }
    }
  }
  return { search, ndots };
}

/**
 * The names to try, in order: a name with a trailing dot only as it is; a name with at
 * least `ndots` dots as it is first, then with each search domain; a shorter one with
 * each search domain first, then as it is.
 */
export function candidateNames(name: string, cfg: SearchConfig): string[] {
  if (name.endsWith(".")) return [name.slice(0, -1)];
  const dots = name.split(".").length - 1;
  const searched = cfg.search.map((d) => `${name}.${d}`);
  return dots >= cfg.ndots ? [name, ...searched] : [...searched, name];
}
