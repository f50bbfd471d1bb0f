// Forging the proxy's exemption. The proxy's upstream queries carry SO_MARK 0x45474c, and
// the redirect and the filter trust that mark. Setting SO_MARK needs CAP_NET_ADMIN, or
// CAP_NET_RAW since Linux 5.17: both identities get EPERM, and their unmarked query for a
// denied name is judged by the proxy as any other. An application that keeps NET_RAW
// can set it (the documented limit; docs/security.md).
import { describe, expect, test } from "bun:test";
import { as, IDENTITIES } from "../../support/attacker.ts";
import { LAB, WITH_NET_RAW, attack, attackLines, dnsDenied, useAdversarialLab } from "./support.ts";

const get = useAdversarialLab();

for (const who of IDENTITIES) {
  describe(who, () => {
    test("SO_MARK on a UDP and a TCP socket: EPERM; the unmarked query for a denied name is denied by the proxy", async () => {
      const { lab, served } = get();
      expect(await attackLines(lab, as(who, []), ["mark"])).toEqual(["PermissionError errno=1", "PermissionError errno=1"]);
      const name = `marked-${who}.example.net`;
      expect(await attack(lab, who, ["dns", LAB.dnsV4, "53", name, "1", "udp"])).toBe("rcode 3 ede blocked by egressctl default deny");
      await dnsDenied(served, name);
    });
  });
}

test("the limit: root keeping CAP_NET_RAW (without NET_ADMIN) can set the mark", async () => {
  const { lab } = get();
  expect(await attackLines(lab, WITH_NET_RAW, ["mark"])).toEqual(["marked udp", "marked tcp"]);
});
