// Errno numbers, names and messages (src/core/errors/errno.ts), and how nft's error text
// becomes an errno at the backend boundary (src/effects/nft/result.ts): the texts below
// are what libnftables 1.0.6 and nft print for real refusals (see
// test/integration/nft/backend-errors.test.ts for the kernel provoking them).
import { describe, expect, test } from "bun:test";
import { Errno, errnoName, errnoOfStrerror, errnoText, isTransient, SysError } from "../../../src/core/errors/errno.ts";
import { nftFailure } from "../../../src/effects/nft/result.ts";

describe("errno", () => {
  test("names and texts, for the number or its negative (as netlink carries it)", () => {
    expect(errnoText(-2)).toBe("ENOENT (No such file or directory)");
    expect(errnoText(22)).toBe("EINVAL (Invalid argument)");
    expect(errnoText(-1)).toBe("EPERM (Operation not permitted)");
    expect(errnoName(-16)).toBe("EBUSY");
    expect(errnoName(105)).toBe("ENOBUFS");
    expect(errnoText(-999)).toBe("errno 999");
    expect(Errno.ECONNREFUSED).toBe(111);
  });

  test("strerror's text maps back to its number, exactly or not at all", () => {
    expect(errnoOfStrerror("Device or resource busy")).toBe(Errno.EBUSY);
    expect(errnoOfStrerror(" Operation not permitted ")).toBe(Errno.EPERM);
    expect(errnoOfStrerror("Device or resource busy, maybe")).toBeNull();
    expect(errnoOfStrerror("syntax error")).toBeNull();
  });

  test("transient: EINTR, EAGAIN, EBUSY, ENOBUFS; a timeout, a refusal or no errno are not", () => {
    for (const e of [Errno.EINTR, Errno.EAGAIN, Errno.EBUSY, Errno.ENOBUFS, -Errno.EBUSY]) expect(isTransient(e)).toBe(true);
    for (const e of [Errno.ETIMEDOUT, Errno.ENOENT, Errno.EPERM, Errno.EINVAL, null, undefined]) expect(isTransient(e)).toBe(false);
  });

  test("SysError carries errno, code and the operation", () => {
    const e = new SysError("setsockopt(SO_MARK=1)", 1);
    expect(e).toBeInstanceOf(Error);
    expect({ errno: e.errno, code: e.code, op: e.op, message: e.message }).toEqual({
      errno: 1,
      code: "EPERM",
      op: "setsockopt(SO_MARK=1)",
      message: "setsockopt(SO_MARK=1): EPERM (Operation not permitted)",
    });
  });
});

describe("nft's error text, read once at the backend", () => {
  test.each<[string, string, number | null, number | undefined]>([
    ["a kernel refusal", "Error: Could not process rule: Device or resource busy\ndelete chain inet t a\n                    ^", Errno.EBUSY, undefined],
    ["a missing object", "Error: No such file or directory\nlist table inet egressctl\n                ^^^^", Errno.ENOENT, undefined],
    ["with a hint", "Error: No such file or directory; did you mean table 'egressctl' in family ip?\nlist table inet egresctl", Errno.ENOENT, undefined],
    ["located (a script from a file)", "ruleset:3:1-20: Error: Could not process rule: Operation not permitted\nadd table inet x\n^^^^", Errno.EPERM, 3],
    ["a syntax error", "ruleset:2:30-39: Error: syntax error, unexpected string\nadd rule inet t b frobnicate\n                  ^^^^^^^^^^", null, 2],
    ["no text at all", "", null, undefined],
  ])("%s", (_what, text, errno, line) => {
    const r = nftFailure(text);
    expect(r.errno).toBe(errno);
    expect(r.line).toBe(line);
  });
});
