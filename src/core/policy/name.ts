// The DNS name grammar shared by policy targets and query names: lowercase ASCII,
// punycode for Unicode, no trailing dot, labels of 1–63 octets of [a-z0-9_-], at most
// 253 octets in all. Underscores are accepted because real queries carry them
// (`_acme-challenge`, SRV names) even though hostnames may not.
import { domainToASCII } from "node:url"; // pure string conversion, no I/O

export type NameCheck = { name: string } | { error: string; hint?: string };

const LABEL_CHARS = /^[a-z0-9_-]+$/;

/** Normalises and checks a name (no wildcard, no address); never throws. */
export function checkName(input: string): NameCheck {
  let s = input;
  if (s.length > 1 && s.endsWith(".")) s = s.slice(0, -1);
  if (s === "" || s === ".") return { error: "name is empty" };
  if (/[^\x00-\x7f]/.test(s)) {
    const ascii = domainToASCII(s);
    if (ascii === "") {
      return { error: `"${input}" is not a valid internationalised domain name`, hint: "check the Unicode characters, or write the punycode (xn--) form" };
    }
    s = ascii;
  }
  s = s.toLowerCase();
  if (s.startsWith(".")) {
    const rest = s.replace(/^\.+/, "");
    return { error: "name starts with a dot", hint: `write "*.${rest}" to match names below ${rest}, or "${rest}" for the name itself` };
  }
  if (s.length > 253) return { error: `name is ${s.length} octets long; a name may have at most 253` };
  for (const label of s.split(".")) {
    if (label === "") return { error: "name has an empty label (two dots in a row)", hint: "remove the extra dot" };
    if (label.length > 63) {
      return { error: `label "${label.slice(0, 20)}…" is ${label.length} octets long; a label may have at most 63` };
    }
    if (!LABEL_CHARS.test(label)) {
      const bad = [...label].find((c) => !/[a-z0-9_-]/.test(c)) ?? "?";
      return { error: `character "${bad}" is not allowed in a name`, hint: "names use letters, digits, \"-\" and \"_\" only" };
    }
  }
  // RFC 3696: a top-level domain is never all digits; such text is a mistyped address
  if (/^[0-9]+$/.test(s.slice(s.lastIndexOf(".") + 1))) {
    return { error: `"${input}" ends in an all-numeric label, so it is neither a name nor an IPv4 address`, hint: "an IPv4 address is four numbers 0–255 separated by dots" };
  }
  return { name: s };
}
