// The top-level `egressctl --help` (and the usage printed when no command is given):
// one line per command, the version once. citty's own renderer would print every
// command's whole help text into its command list, so this page is written here; each
// `egressctl COMMAND --help` is still citty's, from that command's own definition.
// Every line stays within WIDTH columns (test/cli/binary.test.ts checks the binary).

export const WIDTH = 100;

export interface CommandSummary {
  name: string;
  /** one line: what the command is for */
  summary: string;
}

const EXAMPLES: [string, string][] = [
  ["egressctl probe", "which enforcement mode is possible here"],
  ["egressctl validate policy.yaml", "check a policy, point at each mistake"],
  ["egressctl apply policy.yaml --dry-run", "print the nftables ruleset"],
  ["egressctl serve policy.yaml", "run the sidecar"],
  ["egressctl doctor api.github.com", "inside a sandbox: what is enforced, and why"],
  ["egressctl inject app.yaml > out.yaml", "add the sidecar to a Kubernetes workload"],
  ["egressctl wait -- python app.py", "run the application once enforcement holds"],
];

export function mainHelp(version: string, commands: readonly CommandSummary[]): string {
  const table = (rows: readonly [string, string][]) => {
    const w = Math.max(...rows.map(([a]) => a.length)) + 2;
    return rows.map(([a, b]) => `  ${a.padEnd(w)}${b}`);
  };
  return [
    `egressctl ${version}: egress firewall for code sandboxes`,
    "",
    "Usage: egressctl COMMAND [OPTIONS] [ARGUMENTS]",
    "",
    "Commands:",
    ...table(commands.map((c) => [c.name, c.summary])),
    "",
    "Examples:",
    ...table(EXAMPLES),
    "",
    "Options:",
    ...table([
      ["-h, --help", "this page; 'egressctl COMMAND --help' for a command's options and examples"],
      ["-v, --version", "the version and the commit it was built from"],
    ]),
    "",
    "Exit codes: 0 success, 1 runtime failure, 2 usage, 3 invalid policy, 4 a required",
    "capability or isolation level is unavailable, 5 the kernel rejected the ruleset.",
    "",
  ].join("\n");
}
