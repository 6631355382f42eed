// One cached answer, and its encoding for a shared store: a one-line JSON header, then the body bytes unchanged.

/** A complete answer as the client got it: a JSON body, or the SSE bytes of a whole stream. */
export interface CacheEntry {
  readonly kind: 'json' | 'sse';
  readonly contentType: string;
  /** When it was stored (epoch ms), for `s-maxage`. */
  readonly storedAt: number;
  readonly body: Buffer;
}

/** Where entries live: in this process (an LRU bounded by bytes) or in Redis, shared by every instance. */
export interface CacheStore {
  readonly kind: 'memory' | 'redis';
  /** The entry under `key`, or null (absent, expired, undecodable, or the store is unreachable). */
  get(key: string): CacheEntry | null | Promise<CacheEntry | null>;
  /** Stores `entry` for `ttlMs`; never rejects (a store that cannot take it drops it). */
  set(key: string, entry: CacheEntry, ttlMs: number): void | Promise<void>;
  /** Deletes the keys; resolves to how many existed. */
  delete(keys: readonly string[]): Promise<number>;
  /** Whether the store answers now, and what to show an operator. */
  ping(): Promise<{ readonly healthy: boolean; readonly detail: string }>;
  close(): Promise<void>;
}

const NEWLINE = 0x0a;
const VERSION = 1;

interface Header {
  v: number;
  k: 'json' | 'sse';
  ct: string;
  t: number;
}

export function encodeEntry(entry: CacheEntry): Buffer {
  const header: Header = { v: VERSION, k: entry.kind, ct: entry.contentType, t: entry.storedAt };
  const head = Buffer.from(JSON.stringify(header) + '\n', 'utf8');
  return Buffer.concat([head, entry.body], head.length + entry.body.length);
}

/** The entry in `bytes`, or null when they are not one (another writer, another version, a torn value). */
export function decodeEntry(bytes: Buffer): CacheEntry | null {
  const end = bytes.indexOf(NEWLINE);
  if (end <= 0) return null;
  let header: unknown;
  try {
    header = JSON.parse(bytes.toString('utf8', 0, end));
  } catch {
    return null;
  }
  if (typeof header !== 'object' || header === null) return null;
  const { v, k, ct, t } = header as Partial<Header>;
  if (v !== VERSION || (k !== 'json' && k !== 'sse') || typeof ct !== 'string' || typeof t !== 'number') return null;
  return { kind: k, contentType: ct, storedAt: t, body: bytes.subarray(end + 1) };
}
