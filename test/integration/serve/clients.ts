// Real clients run inside the lab's sandbox, as an application would run them. Each
// returns what the application would see, so tests assert on outcomes, not internals.
import type { Lab } from "../../support/lab.ts";

export async function dig(lab: Lab, name: string, ...opts: string[]): Promise<{ status: string; answers: string[]; ede: string | null; raw: string }> {
  const r = await lab.exec("sandbox", ["kdig", "+timeout=3", "+retry=0", ...opts, name]);
  const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? `ERROR(${r.code}): ${r.stderr.trim()}`;
  const answers: string[] = [];
  const sect = r.stdout.split(";; ANSWER SECTION:")[1]?.split("\n\n")[0] ?? "";
  for (const line of sect.split("\n")) {
    const m = /\s(A|AAAA|CNAME)\s+(\S+)$/.exec(line.trim());
    if (m) answers.push(`${m[1]} ${m[2]}`);
  }
  const ede = /;; EDE: (.*)$/m.exec(r.stdout)?.[1] ?? null;
  return { status, answers, ede, raw: r.stdout };
}

/** curl's exit code and body: 0 = reached, 6 = name did not resolve, 7 = refused at once, 28 = timeout */
export async function curl(lab: Lab, url: string, ...opts: string[]): Promise<{ code: number; body: string }> {
  const r = await lab.exec("sandbox", ["curl", "-sS", "-m", "4", ...opts, url]);
  return { code: r.code, body: r.stdout.trim() };
}

export async function getent(lab: Lab, name: string): Promise<{ code: number; addresses: string[] }> {
  const r = await lab.exec("sandbox", ["getent", "ahosts", name]);
  return { code: r.code, addresses: [...new Set(r.stdout.split("\n").map((l) => l.split(/\s+/)[0]!).filter(Boolean))] };
}

/** python3's socket module: resolve with getaddrinfo and connect over TCP; "ok" or the error */
export async function pyConnect(lab: Lab, name: string, port = 80): Promise<string> {
  const script = `
import socket, sys
try:
    ai = socket.getaddrinfo(sys.argv[1], int(sys.argv[2]), socket.AF_INET, socket.SOCK_STREAM)
    s = socket.create_connection((ai[0][4][0], int(sys.argv[2])), timeout=4)
    s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n"); print("ok", s.recv(200).split(b"\\r\\n\\r\\n")[-1].decode().strip())
except Exception as e:
    print(type(e).__name__, e)
`;
  const r = await lab.exec("sandbox", ["python3", "-c", script, name, String(port)]);
  return r.stdout.trim();
}

export async function learned(lab: Lab, family: 4 | 6 = 4): Promise<string[]> {
  const r = await lab.exec("sandbox", ["nft", "-j", "list", "set", "inet", "egressctl", family === 4 ? "learned4" : "learned6"]);
  if (r.code !== 0) return [];
  const set = JSON.parse(r.stdout).nftables.find((x: any) => x.set)?.set;
  return (set?.elem ?? []).map((e: any) => (typeof e === "string" ? e : e.elem.val));
}
