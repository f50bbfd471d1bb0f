// A fixed-size ring of recent items (violations for /violations), newest first on read.
export class Ring<T> {
  private items: T[] = [];
  private next = 0;
  constructor(private readonly size: number) {}

  push(item: T): void {
    if (this.items.length < this.size) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.size;
  }

  newestFirst(limit = this.size): T[] {
    const out: T[] = [];
    for (let i = 1; i <= Math.min(limit, this.items.length); i++) {
      out.push(this.items[(this.next - i + this.items.length) % this.items.length]!);
    }
    return out;
  }

  get length(): number {
    return this.items.length;
  }
}
