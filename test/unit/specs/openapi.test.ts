// The OpenAPI 3.1 documents in schema/openapi/ are valid OpenAPI (checked against the
// official schemas by @seriousme/openapi-schema-validator, pinned), and the checker the
// lab tests use (test/support/openapi.ts) fails what it must: so "every response
// matched" in the lab means something.
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import pkg from "../../../package.json";
import { ApiSpec, OPENAPI_DIR } from "../../support/openapi.ts";

const ROOT = resolve(import.meta.dir, "../../..");
const docs = readdirSync(OPENAPI_DIR).filter((f) => f.endsWith(".yaml"));

describe("schema/openapi", () => {
  test("the policy API, the status socket and the metrics address each have a document", () => {
    expect(docs.sort()).toEqual(["metrics.yaml", "policy-api.yaml", "status-socket.yaml"]);
  });

  for (const f of docs) {
    test(`${f} is valid OpenAPI 3.1 and names this version`, async () => {
      const v = new Validator();
      await v.addSpecRef(join(ROOT, "schema/policy.schema.json"), "../policy.schema.json");
      const r = await v.validate(join(OPENAPI_DIR, f));
      expect(r).toEqual({ valid: true });
      expect(v.version).toBe("3.1");
      expect((v.specification as { info: { version: string } }).info.version).toBe(pkg.version);
    });
  }

  test("the checker refuses an undocumented path, method or status, a bad body, a missing header", () => {
    const spec = new ApiSpec("policy-api.yaml");
    const json = { "content-type": "application/json;charset=utf-8" };
    const ok = { status: "ok", mode: "deny_all", enforcementMode: "dns+nft", policy: { defaultAction: "deny", egress: [] } };
    expect(spec.check({ method: "GET", path: "/policy", status: 200, headers: json, body: JSON.stringify(ok) })).toEqual([]);
    expect(spec.check({ method: "GET", path: "/policy", status: 200, headers: json, body: JSON.stringify({ ...ok, extra: 1 }) })[0]).toContain("body must NOT have additional properties 'extra'");
    expect(spec.check({ method: "GET", path: "/policy", status: 200, headers: json, body: JSON.stringify({ ...ok, mode: "open" }) })[0]).toContain("must be equal to one of the allowed values");
    expect(spec.check({ method: "GET", path: "/policy", status: 202, headers: json, body: "{}" })[0]).toContain("status 202 is not documented");
    expect(spec.check({ method: "TRACE", path: "/policy", status: 405, headers: json, body: "{}" })[0]).toContain("this method is not in");
    expect(spec.check({ method: "GET", path: "/nowhere", status: 404, headers: json, body: JSON.stringify({ status: "error", error: "no such path: /nowhere", message: "no such path: /nowhere" }) })).toEqual([]);
    expect(spec.check({ method: "GET", path: "/nowhere", status: 200, headers: json, body: "{}" })[0]).toContain("status 200 is not documented");
    expect(spec.check({ method: "OPTIONS", path: "/policy", status: 405, headers: json, body: JSON.stringify({ status: "error", error: "x", message: "x" }) })[0]).toContain("header Allow is missing");
    expect(spec.check({ method: "GET", path: "/healthz", status: 200, headers: { "content-type": "text/plain" }, body: "ok\n" })).toEqual([]);
    expect(spec.check({ method: "GET", path: "/healthz", status: 200, headers: { "content-type": "application/json" }, body: "ok\n" })[0]).toContain("body is not documented");

    const status = new ApiSpec("status-socket.yaml");
    expect(status.check({ method: "GET", path: "/healthz", status: 200, headers: { "content-type": "text/plain" }, body: "ok dns+nftables\n" })).toEqual([]);
    expect(status.check({ method: "GET", path: "/healthz", status: 200, headers: { "content-type": "text/plain" }, body: "ok maybe\n" })).toHaveLength(1);
    const metrics = new ApiSpec("metrics.yaml");
    expect(metrics.check({ method: "GET", path: "/metrics", status: 200, headers: { "content-type": "text/plain; version=0.0.4" }, body: "# HELP egressctl_x y\negressctl_x 1\n" })).toEqual([]);
    expect(metrics.check({ method: "GET", path: "/metrics", status: 200, headers: { "content-type": "text/plain" }, body: "garbage\n" })).toHaveLength(1);
    // a histogram's lines, and a float in exponent form (a tiny sum)
    const histogram = '# HELP egressctl_h_seconds h\n# TYPE egressctl_h_seconds histogram\negressctl_h_seconds_bucket{le="+Inf"} 1\negressctl_h_seconds_sum 5e-7\negressctl_h_seconds_count 1\n';
    expect(metrics.check({ method: "GET", path: "/metrics", status: 200, headers: { "content-type": "text/plain; version=0.0.4" }, body: histogram })).toEqual([]);
  });
});
