/**
 * A small seeded pseudo-random generator (mulberry32) for reproducible splits and shuffles.
 * Not for cryptography.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, bound). */
  nextInt(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }
}

/**
 * A uniform sample of at most `capacity` items of a stream of unknown length, in memory bounded by `capacity`
 * (Algorithm R): every item offered has the same chance to be kept. `seen` counts every item offered.
 */
export class Reservoir<T> {
  private readonly kept: T[] = [];
  private offered = 0;

  constructor(
    readonly capacity: number,
    private readonly random: SeededRandom,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  offer(item: T): void {
    this.offered++;
    if (this.kept.length < this.capacity) {
      this.kept.push(item);
      return;
    }
    const slot = this.random.nextInt(this.offered);
    if (slot < this.capacity) this.kept[slot] = item;
  }

  /** Items offered so far. */
  get seen(): number {
    return this.offered;
  }

  /** The items kept (all of them while fewer than `capacity` were offered). */
  get items(): T[] {
    return this.kept;
  }
}
