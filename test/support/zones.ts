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
