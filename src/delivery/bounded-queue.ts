/** How a subscription's transport reports a consumer that stopped reading. */
export interface SlowConsumerGuard {
  onOverflow: () => void;
  backedUp?: () => boolean;
}

export interface QueueOptions {
  limit: number;
  onOverflow: () => void;
  onClose: () => void;
  /** True when the consumer's transport is backed up (e.g. a websocket send buffer over its cap). */
  backedUp?: () => boolean;
}

/**
 * An async-iterable queue with a cap: a consumer that falls `limit` items behind, or whose
 * transport stops draining, is cut off through `onOverflow` instead of letting memory grow.
 */
export class BoundedQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | null = null;
  private done = false;

  constructor(private readonly options: QueueOptions) {}

  push(item: T): void {
    if (this.done) return;
    if (this.options.backedUp?.()) return this.overflow();
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: item, done: false });
      return;
    }
    if (this.items.length >= this.options.limit) return this.overflow();
    this.items.push(item);
  }

  private overflow(): void {
    this.close();
    this.options.onOverflow();
  }

  get size(): number {
    return this.items.length;
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.items = [];
    this.waiting?.({ value: undefined, done: true });
    this.waiting = null;
    this.options.onClose();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
