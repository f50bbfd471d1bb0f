// resolv.conf's search list, as the deny webhook's host name is resolved with it.
import { expect, test } from "bun:test";
import { candidateNames, parseSearchConfig } from "../../../src/core/dns/search-list.ts";

const K8S = "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5 timeout:1\n";

test("parse: search domains and ndots; defaults without them; the last search/domain line wins", () => {
  expect(parseSearchConfig(K8S)).toEqual({ search: ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"], ndots: 5 });
  expect(parseSearchConfig("nameserver 192.0.2.53\n")).toEqual({ search: [], ndots: 1 });
  expect(parseSearchConfig("search a.example\ndomain b.example. # comment\noptions ndots:99\n")).toEqual({ search: ["b.example"], ndots: 15 });
});

test("candidates in the C library's order", () => {
  const k8s = parseSearchConfig(K8S);
  expect(candidateNames("hook.platform", k8s)).toEqual([
    "hook.platform.default.svc.cluster.local", "hook.platform.svc.cluster.local", "hook.platform.cluster.local", "hook.platform",
  ]);
  expect(candidateNames("hook.example.com.", k8s)).toEqual(["hook.example.com"]);
  const plain = { search: ["corp.example"], ndots: 1 };
  expect(candidateNames("hook.example.com", plain)).toEqual(["hook.example.com", "hook.example.com.corp.example"]);
  expect(candidateNames("hook", plain)).toEqual(["hook.corp.example", "hook"]);
  expect(candidateNames("hook", { search: [], ndots: 1 })).toEqual(["hook"]);
});
