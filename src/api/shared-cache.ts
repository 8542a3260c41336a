/**
 * A short-lived cache shared by concurrent callers: while one computation of a key runs, every
 * caller of that key waits for it (single flight), and its result is reused for `ttlMs`. So a
 * dashboard left open on every operator's screen costs one stats read per `ttlMs`, however many
 * ask. A failed computation is not cached.
 */
export class SharedCache<T> {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, { value: Promise<T>; until: number }>();

  constructor(ttlMs: number, now: () => number = Date.now) {
    this.ttlMs = ttlMs;
    this.now = now;
  }

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const cached = this.entries.get(key);
    if (cached && cached.until > this.now()) return cached.value;
    // Until it settles the entry never expires, so callers keep joining the one in flight.
    const entry = { value: compute(), until: Number.POSITIVE_INFINITY };
    this.entries.set(key, entry);
    entry.value.then(
      () => {
        entry.until = this.now() + this.ttlMs;
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    // Keys are few (stats windows, queues); drop expired ones so the map cannot grow.
    for (const [name, other] of this.entries) if (other.until <= this.now()) this.entries.delete(name);
    return entry.value;
  }
}
