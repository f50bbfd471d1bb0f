// A long-running process as parts with a lifecycle (after Cilium's hive and CoreDNS's
// plugin controller): each part is a small object with start() and stop(); the lifecycle
// starts them in the order they were appended and stops the started ones in reverse,
// so the order of start-up and shutdown is written once, where the parts are composed.
// A part that fails to start stops the start: the parts started before it are stopped
// (in reverse, told why), and the failure goes to the caller. A stop that throws is
// reported and the others still stop. Pure: promises only; time and I/O are the parts'.

/** why a part is stopped: serve is shutting down, or a later part failed to start */
export type StopReason = "shutdown" | "failed-start";

export interface Part {
  /** for logs and errors: what this part is */
  readonly name: string;
  start(): Promise<void> | void;
  stop(why: StopReason): Promise<void> | void;
}

export class Lifecycle {
  private readonly parts: Part[] = [];
  private started: Part[] = [];

  /** `onStopError`: a part's stop threw (the others still stop) */
  constructor(private readonly onStopError: (part: string, error: Error) => void = () => {}) {}

  append(...parts: Part[]): this {
    this.parts.push(...parts);
    return this;
  }

  /** the parts' names, in start order */
  get order(): string[] {
    return this.parts.map((p) => p.name);
  }

  /** Starts every part in order; on a failure, stops those started and rethrows it. */
  async start(): Promise<void> {
    for (const p of this.parts) {
      try {
        await p.start();
      } catch (e) {
        await this.stop("failed-start");
        throw e;
      }
      this.started.push(p);
    }
  }

  /** Stops the started parts, last started first. */
  async stop(why: StopReason = "shutdown"): Promise<void> {
    const started = this.started;
    this.started = [];
    for (const p of started.reverse()) {
      try {
        await p.stop(why);
      } catch (e) {
        this.onStopError(p.name, e instanceof Error ? e : new Error(String(e)));
      }
    }
  }
}

/**
 * A part's start refused: serve ends with this exit code, having logged why (the part
 * logs it; the lifecycle only carries the code).
 */
export class StartRefused extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}
