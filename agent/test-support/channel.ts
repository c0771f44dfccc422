/** A queue whose `next()` resolves with the next pushed value, whether pushed before or after. */
export class Channel<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<(value: T) => void> = [];
  readonly all: T[] = [];

  push(value: T): void {
    this.all.push(value);
    const waiter = this.waiters.shift();
    if (waiter) waiter(value);
    else this.items.push(value);
  }

  next(): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The next value satisfying `predicate`, dropping the others. */
  async find(predicate: (value: T) => boolean): Promise<T> {
    for (;;) {
      const value = await this.next();
      if (predicate(value)) return value;
    }
  }
}
