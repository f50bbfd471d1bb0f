// One thing at a time, in the order asked: serve's kernel lane. Each job starts when
// the one before it has settled (fulfilled or not), so kernel writes, removals and
// installs reach the kernel in the order they were decided, and a compound job (a
// reload: install, swap, prune) runs with nothing else in between. Pure: promises only.
export class Lane {
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;

  /** jobs waiting or running */
  get size(): number {
    return this.queued;
  }

  run<T>(job: () => Promise<T> | T): Promise<T> {
    this.queued++;
    const r = this.tail.then(job).finally(() => this.queued--);
    this.tail = r.catch(() => {});
    return r;
  }
}
