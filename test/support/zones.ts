// The lab's DNS data, served by a real Knot DNS in the world namespace. Names live under
// the reserved example.* zones; every address is a documentation address that the lab
// world answers on.
export interface Zone {
  origin: string; // "example.com"
  records: string[]; // zone-file lines relative to the origin, e.g. "api 300 A 198.51.100.10"
}

/** n addresses spread over the lab's host ranges, deterministic. */
export function hostV4(n: number): string {
  const range = n < 250 ? "198.51.100" : "203.0.113";
  return `${range}.${(n % 250) + 1}`;
}

export function defaultZones(): Zone[] {
  const com: string[] = [
    "api 300 A 198.51.100.10",
    "api 300 AAAA 2001:db8:100::10",
    "other 300 A 198.51.100.11",
    "evil 300 A 198.51.100.66",
    "v6only 300 AAAA 2001:db8:100::30",
    "short 1 A 198.51.100.12",
    "twin 300 A 198.51.100.12", // shares short's address
    "long 86400 A 198.51.100.13",
    // a CNAME chain (Knot is authoritative, not recursive, so it follows CNAMEs only
    // inside one zone): every address at its end is learned under www
    "www 300 CNAME web",
    "web 300 CNAME cdn",
    "cdn 300 A 198.51.100.20",
    "cdn 300 AAAA 2001:db8:100::20",
    // answers that point into a range a policy will deny (rebinding guard)
    "rebind 300 A 203.0.113.99",
    "doh 300 A 203.0.113.143",
    "doh 300 AAAA 2001:db8:200::143",
    "dot 300 A 203.0.113.153",
    "pypi 300 A 198.51.100.40",
    "files.pypi 300 A 198.51.100.41",
    "deep.files.pypi 300 A 198.51.100.42",
    "evil.pypi 300 A 198.51.100.43",
  ];
  // 300 addresses for one name: the answer needs TCP and learning must keep them all
  for (let i = 0; i < 300; i++) com.push(`many 300 A ${hostV4(i)}`);
  // 1000 fresh names for the first-connection race test; each has an IPv6 address of
  // its own, so no connection can succeed on an address an earlier name had learned
  for (let i = 0; i < 1000; i++) {
    com.push(`n${i}.fresh 300 A ${hostV4(i % 500)}`, `n${i}.fresh 300 AAAA 2001:db8:200::1:${i.toString(16)}`);
  }
  return [
    { origin: "example.com", records: com },
    { origin: "example.net", records: ["web 300 CNAME cdn.example.org.", "plain 300 A 198.51.100.50"] },
    { origin: "example.org", records: ["cdn 300 A 198.51.100.20", "cdn 300 AAAA 2001:db8:100::20"] },
  ];
}

/**
 * The default zones plus what the adversarial suite's attacks need, all in example.com
 * (an authoritative Knot follows CNAMEs and DNAMEs only inside one zone):
 *   - a CNAME from an allowed name to a denied one, and a chain through a name no rule
 *     lists (as CDNs answer);
 *   - a DNAME under an allowed wildcard pointing into a denied subtree;
 *   - names answering with non-public addresses: cloud metadata, RFC 1918, ULA, their
 *     IPv6 embeddings, and the lab sandbox's own gateway and address (192.0.2.1 and
 *     192.0.2.2, documentation addresses that count only because they are its own).
 * The answers are data: a test never sends a packet to a non-public address unless the
 * filter refuses it inside the sandbox namespace first (and the lab has no route out).
 */
export function adversarialZones(): Zone[] {
  const zones = defaultZones();
  zones[0]!.records.push(
    "cn 300 CNAME denied",
    "denied 300 A 198.51.100.70",
    "denied 300 AAAA 2001:db8:100::70",
    "viacdn 300 CNAME edge.cdnhost",
    "edge.cdnhost 300 A 198.51.100.73",
    "dn 300 DNAME evilzone.example.com.",
    "x.evilzone 300 A 198.51.100.71",
    "x.evilzone 300 AAAA 2001:db8:100::71",
    "meta 300 A 169.254.169.254",
    "internal 300 A 10.0.0.1",
    "ula 300 AAAA fd00::1",
    "mapped 300 AAAA ::ffff:10.0.0.1",
    "nat64 300 AAAA 64:ff9b::a9fe:a9fe",
    "gw 300 A 192.0.2.1",
    "gw6 300 AAAA 2001:db8:1::1",
    "self 300 A 192.0.2.2",
    "mixed 300 A 10.0.0.2",
    "mixed 300 A 198.51.100.72",
    // public until the test gives the sandbox this address
    "later 300 A 192.0.2.77",
  );
  return zones;
}

export function renderZone(z: Zone): string {
  return [
    `$ORIGIN ${z.origin}.`,
    "$TTL 300",
    `@ 300 SOA ns1.${z.origin}. hostmaster.${z.origin}. 1 3600 900 604800 60`,
    `@ 300 NS ns1.${z.origin}.`,
    "ns1 300 A 198.51.100.53",
    ...z.records,
    "",
  ].join("\n");
}
