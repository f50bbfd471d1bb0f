// `make demo` is the first command a newcomer runs: it must work and show the product
// doing its job. Runs the demo script as make would and checks what it shows.
import { expect, test } from "bun:test";
import { join } from "node:path";

test("make demo runs the sidecar in a throwaway lab and shows allowed and blocked traffic", async () => {
  const p = Bun.spawn([process.execPath, join(import.meta.dir, "..", "..", "scripts", "demo.ts")], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  expect(code).toBe(0);
  expect(out).toContain("ok 198.51.100.41 80"); // files.pypi.example.com reached
  expect(out).toMatch(/ok (198\.51\.100\.10|2001:db8:100::10) 80/); // api.example.com reached
  expect(out).toContain("EDE: 15 (Blocked): 'blocked by egressctl rule egress[1] deny evil.pypi.example.com'");
  expect(out).toContain("Could not resolve host: other.example.com");
  expect(out).toMatch(/Failed to connect to 198\.51\.100\.77 port 80/);
  expect(out).toMatch(/dns\.denied name=other\.example\.com/);
  expect(out).toContain("kernel matches policy: true");
  // doctor, run inside the sandbox, agrees and explains
  expect(out).toMatch(/DNS is intercepted/);
  expect(out).toMatch(/198\.51\.100\.77: DENY \(default\)/);
  expect(out).toMatch(/result: ok/);
  expect(out).toContain("lab removed.");
}, 60_000);
