// Entries in this process: an LRU bounded by bytes. A Map keeps insertion order, so the first key is the least
// recently used one; a hit moves its key to the end.

import type { CacheEntry, CacheStore } from './entry.ts';

/** What an entry costs besides its body and key: the Map slot and the entry object. */
const ENTRY_OVERHEAD_BYTES = 160;

interface Held {
  readonly entry: CacheEntry;
  /** `now()` ms after which the entry is gone. */
  readonly expiresAt: number;
  readonly bytes: number;
}

export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory' as const;
  readonly maxBytes: number;
  readonly #entries = new Map<string, Held>();
  readonly #now: () => number;
  #bytes = 0;

  /** `now`: the clock TTLs are measured on (epoch ms); tests pass a fake one. */
  constructor(maxBytes: number, now: () => number = Date.now) {
    this.maxBytes = maxBytes;
    this.#now = now;
  }

  /** Bytes held now (bodies, keys and a fixed overhead per entry). */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): CacheEntry | null {
    const held = this.#entries.get(key);
    if (held === undefined) return null;
    if (held.expiresAt <= this.#now()) {
      this.#remove(key, held);
      return null;
    }
    // Most recently used goes last.
    this.#entries.delete(key);
    this.#entries.set(key, held);
    return held.entry;
  }

  set(key: string, entry: CacheEntry, ttlMs: number): void {
    const bytes = entry.body.length + key.length * 2 + entry.contentType.length + ENTRY_OVERHEAD_BYTES;
    const before = this.#entries.get(key);
    if (before !== undefined) this.#remove(key, before);
    // An entry larger than the whole cache would only push everything else out, then itself.
    if (bytes > this.maxBytes || ttlMs <= 0) return;
    this.#entries.set(key, { entry, expiresAt: this.#now() + ttlMs, bytes });
    this.#bytes += bytes;
    if (this.#bytes <= this.maxBytes) return;
    const now = this.#now();
    for (const [oldKey, held] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      if (oldKey === key && held.expiresAt > now) continue;
      this.#remove(oldKey, held);
    }
  }

  async delete(keys: readonly string[]): Promise<number> {
    let removed = 0;
    for (const key of keys) {
      const held = this.#entries.get(key);
      if (held === undefined) continue;
      this.#remove(key, held);
      removed++;
    }
    return removed;
  }

  async ping(): Promise<{ healthy: boolean; detail: string }> {
    return { healthy: true, detail: `in memory: ${this.#entries.size} entries, ${this.#bytes} of ${this.maxBytes} bytes` };
  }

  async close(): Promise<void> {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #remove(key: string, held: Held): void {
    this.#entries.delete(key);
    this.#bytes -= held.bytes;
  }
}
