// Router state shared between replicas through the SharedStore: reads stay local and synchronous, and what each
// replica sees is exchanged in the background, never awaited by a request.
//
// Each replica publishes a snapshot of its own part (in-flight counts, latency EWMAs, usage this minute, cooldowns,
// health verdicts, last errors) as its entry in one shared table, and gets every other replica's entry back in the
// same atomic step (SharedStore.exchangeEntry), on a timer (every `syncIntervalMs`) and at once when it cools a
// deployment down or changes a health verdict. An entry not published again within `entryTtlMs` is dropped by the
// store, so a crashed replica's in-flight counts go away by themselves. Snapshots are absolute, not deltas: a lost
// or repeated exchange changes nothing.
//
// How the parts combine: counts (in flight, usage this minute) add up; latency is the mean of the replicas' EWMAs;
// a cooldown lasts until the latest `until` any replica set; a deployment is unhealthy while any replica's latest
// verdict says so; the last error is the latest one.
//
// When the store cannot answer (Redis down), the other replicas' parts are dropped once they are older than the
// entry ttl (at once when the store reports itself degraded), and routing goes on with this replica's own state;
// one warning says so, one line says when it is shared again.

import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.ts';
import type { DeploymentHealth, OwnCounts, RouterState, UnavailableReason, Usage } from './router-state.ts';
import { addFailureOn, addUsageOn, MemoryRouterState, MINUTE_MS, newHealth, observeLatencyOn } from './router-state.ts';
import type { SharedStore } from './store.ts';

/** The shared table's key in the store (under the store's key prefix). */
export const ROUTER_TABLE_KEY = 'router';
export const DEFAULT_SYNC_INTERVAL_MS = 250;
/** A replica's entry outlives this many missed syncs (and at least MIN_ENTRY_TTL_MS) before the store drops it. */
const TTL_SYNCS = 20;
const MIN_ENTRY_TTL_MS = 2000;
/** The snapshot format; entries of another version are ignored. */
const SNAPSHOT_VERSION = 1;
/** How long the first exchange waits for a remote store to connect before it counts as unreachable. */
const FIRST_CONNECTION_WAIT_MS = 10_000;

export interface SharedRouterStateOptions {
  /** How often the replica publishes its part and pulls the others'; 0: only when `sync()` is called (tests). */
  syncIntervalMs?: number;
  /** How long an entry lives without being published again. Default: 20 sync intervals, at least 2 s. */
  entryTtlMs?: number;
  /** Epoch ms; tests pass a fake clock. */
  clock?: () => number;
  /** This replica's name in the table (default: random). */
  replicaId?: string;
}

/**
 * One deployment's part in a snapshot: in flight, latency EWMA (null: none), usage minute, requests, tokens,
 * cooling until (0: not), health verdict (1 healthy, 0 unhealthy, null: no probe), probe time, last error, its time.
 */
type Part = [number, number | null, number, number, number, number, 0 | 1 | null, number, string | null, number];

interface Snapshot {
  v: number;
  d: Record<string, Part>;
}

interface ParsedEntry {
  readonly text: string;
  readonly parts: Record<string, unknown> | null;
}

/** This replica's own part (what it publishes: its counts, in flight and health), and the others' combined. */
interface Entry extends OwnCounts {
  inFlight: number;
  own: DeploymentHealth;
  // The other replicas' parts, combined, as of the last exchange.
  remoteInFlight: number;
  remoteLatencySum: number;
  remoteLatencyCount: number;
  remoteMinute: number;
  remoteRequests: number;
  remoteTokens: number;
  remoteCoolingUntil: number;
  remoteUnhealthy: boolean;
  remoteLastError: string | null;
  remoteLastErrorAt: number;
  remoteLastProbeAt: number;
  // What reads return: own and remote combined, kept up to date on every change so reads cost what they do in
  // MemoryRouterState.
  totalInFlight: number;
  latencyView: number | null;
  health: DeploymentHealth;
}

export class SharedRouterState implements RouterState {
  readonly replicaId: string;
  readonly #store: SharedStore;
  readonly #logger: Logger;
  readonly #clock: () => number;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, Entry>();
  /** The other members' entries as last parsed, by member. */
  #parsed = new Map<string, ParsedEntry>();
  /** Exchanges on a timer and on cooldowns (false: only when `sync()` is called). */
  readonly #automatic: boolean;
  #timer: ReturnType<typeof setInterval> | null = null;
  /** The exchange under way (with any rounds asked for meanwhile), or null. */
  #running: Promise<void> | null = null;
  #again = false;
  #pushSoon: ReturnType<typeof setImmediate> | null = null;
  #lastExchange: number;
  /** True while the others' parts are dropped because the store cannot answer. */
  #alone = false;
  #closed = false;
  /** Exchanges that got an answer, and those that did not (for tests and diagnostics). */
  exchanges = 0;
  failedExchanges = 0;

  constructor(store: SharedStore, logger: Logger, options: SharedRouterStateOptions = {}) {
    this.#store = store;
    this.#logger = logger;
    this.#clock = options.clock ?? Date.now;
    const interval = options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
    this.#ttlMs = options.entryTtlMs ?? Math.max(MIN_ENTRY_TTL_MS, TTL_SYNCS * interval);
    this.replicaId = options.replicaId ?? randomBytes(9).toString('base64url');
    this.#lastExchange = this.#clock();
    this.#automatic = interval > 0;
    if (this.#automatic) {
      // The exchanges start once a remote store has connected (or failed to), so a start is not taken for an outage.
      const connected = store.connected?.(FIRST_CONNECTION_WAIT_MS) ?? Promise.resolve(true);
      void connected.then(() => {
        if (this.#closed) return;
        this.#timer = setInterval(() => void this.sync(), interval);
        this.#timer.unref();
        void this.sync();
      });
    }
  }

  #entry(id: string): Entry {
    let entry = this.#entries.get(id);
    if (entry === undefined) {
      entry = {
        inFlight: 0,
        latency: null,
        minute: 0,
        requests: 0,
        tokens: 0,
        failMinute: 0,
        fails: null,
        own: newHealth(),
        remoteInFlight: 0,
        remoteLatencySum: 0,
        remoteLatencyCount: 0,
        remoteMinute: 0,
        remoteRequests: 0,
        remoteTokens: 0,
        remoteCoolingUntil: 0,
        remoteUnhealthy: false,
        remoteLastError: null,
        remoteLastErrorAt: 0,
        remoteLastProbeAt: 0,
        totalInFlight: 0,
        latencyView: null,
        health: newHealth(),
      };
      this.#entries.set(id, entry);
    }
    return entry;
  }

  // ---- reads and local changes (the hot path: no I/O, no awaiting) ----------------------------------------------

  inFlight(id: string): number {
    return this.#entries.get(id)?.totalInFlight ?? 0;
  }
  localInFlight(id: string): number {
    return this.#entries.get(id)?.inFlight ?? 0;
  }
  acquire(id: string): void {
    const entry = this.#entry(id);
    entry.inFlight++;
    entry.totalInFlight++;
  }
  release(id: string): void {
    const entry = this.#entry(id);
    if (entry.inFlight > 0) {
      entry.inFlight--;
      entry.totalInFlight--;
    }
  }

  latency(id: string): number | null {
    return this.#entries.get(id)?.latencyView ?? null;
  }
  observeLatency(id: string, ms: number): void {
    const entry = this.#entry(id);
    observeLatencyOn(entry, ms);
    combineLatency(entry);
  }

  usage(id: string, now: number): Usage {
    const entry = this.#entries.get(id);
    if (entry === undefined) return { requests: 0, tokens: 0 };
    const minute = Math.floor(now / MINUTE_MS);
    const own = entry.minute === minute;
    const remote = entry.remoteMinute === minute;
    return {
      requests: (own ? entry.requests : 0) + (remote ? entry.remoteRequests : 0),
      tokens: (own ? entry.tokens : 0) + (remote ? entry.remoteTokens : 0),
    };
  }
  addUsage(id: string, requests: number, tokens: number, now: number): void {
    addUsageOn(this.#entry(id), requests, tokens, now);
  }

  addFailure(id: string, errorClass: string, now: number): number {
    return addFailureOn(this.#entry(id), errorClass, now);
  }

  health(id: string): Readonly<DeploymentHealth> {
    return this.#entry(id).health;
  }
  /** Also published at once (not at the next tick), so the other replicas avoid the deployment within a sync. */
  coolDown(id: string, until: number, error: string, now: number): void {
    const entry = this.#entry(id);
    const own = entry.own;
    own.coolingUntil = Math.max(own.coolingUntil, until);
    own.lastError = error;
    own.lastErrorAt = now;
    combineHealth(entry);
    this.#publishSoon();
  }
  /** A changed verdict is published at once; a repeated one waits for the next tick. */
  setHealthy(id: string, healthy: boolean, error: string | null, now: number): void {
    const entry = this.#entry(id);
    const own = entry.own;
    const changed = own.healthy !== healthy || own.lastProbeAt === 0;
    own.healthy = healthy;
    own.lastProbeAt = now;
    if (error !== null) {
      own.lastError = error;
      own.lastErrorAt = now;
    }
    combineHealth(entry);
    if (changed) this.#publishSoon();
  }
  noteError(id: string, error: string, now: number): void {
    const entry = this.#entry(id);
    entry.own.lastError = error;
    entry.own.lastErrorAt = now;
    combineHealth(entry);
  }
  unavailable(id: string, now: number): UnavailableReason | null {
    const entry = this.#entries.get(id);
    if (entry === undefined) return null;
    if (!entry.health.healthy) return 'unhealthy';
    return entry.health.coolingUntil > now ? 'cooldown' : null;
  }

  // ---- the exchange -----------------------------------------------------------------------------------------------

  /**
   * Publishes this replica's part and takes in the others'. Resolves once a round that started after the call has
   * finished (an exchange under way is followed by one more). Never rejects.
   */
  sync(): Promise<void> {
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#rounds().finally(() => (this.#running = null));
    return this.#running;
  }

  async #rounds(): Promise<void> {
    do {
      this.#again = false;
      await this.#exchange();
    } while (this.#again && !this.#closed);
  }

  /** One exchange after the current turn: a burst of cooldowns (one failing request per deployment) goes as one. */
  #publishSoon(): void {
    if (!this.#automatic || this.#pushSoon !== null || this.#closed) return;
    this.#pushSoon = setImmediate(() => {
      this.#pushSoon = null;
      void this.sync();
    });
  }

  async #exchange(): Promise<void> {
    if (this.#closed) return;
    const now = this.#clock();
    let table: Record<string, string>;
    try {
      table = await this.#store.exchangeEntry(ROUTER_TABLE_KEY, this.replicaId, this.#snapshot(now), this.#ttlMs, now);
    } catch (error) {
      this.failedExchanges++;
      this.#unanswered(error);
      return;
    }
    this.exchanges++;
    this.#lastExchange = this.#clock();
    if (this.#alone) {
      this.#alone = false;
      this.#logger.info('Router state is shared across replicas again.');
    }
    this.#merge(table, this.#clock());
  }

  /**
   * The store did not answer. A store that says it is degraded (or silence for a whole ttl, by which time the store
   * has dropped the others' entries anyway) means routing on this replica's own state from now on.
   */
  #unanswered(error: unknown): void {
    if (this.#alone) return;
    if (this.#store.health() === 'ok' && this.#clock() - this.#lastExchange < this.#ttlMs) return;
    this.#alone = true;
    this.#merge({}, this.#clock());
    const health = this.#store.health();
    const fields: Record<string, unknown> = { store: health };
    // The store logs its own outage; other errors are news.
    if (health === 'ok') fields.error = error instanceof Error ? error.message : String(error);
    this.#logger.warn('Router state is not shared while the shared store is unreachable: each replica routes on what it sees itself until it is back.', fields);
  }

  /** This replica's part: every deployment it has something to say about. */
  #snapshot(now: number): string {
    const minute = Math.floor(now / MINUTE_MS);
    const parts: Record<string, Part> = {};
    for (const [id, e] of this.#entries) {
      const own = e.own;
      const cooling = own.coolingUntil > now ? own.coolingUntil : 0;
      const used = e.minute === minute && (e.requests > 0 || e.tokens > 0);
      if (e.inFlight === 0 && e.latency === null && !used && cooling === 0 && own.lastProbeAt === 0 && own.lastError === null) continue;
      parts[id] = [
        e.inFlight,
        e.latency,
        used ? minute : 0,
        used ? e.requests : 0,
        used ? e.tokens : 0,
        cooling,
        own.lastProbeAt === 0 ? null : own.healthy ? 1 : 0,
        own.lastProbeAt,
        own.lastError,
        own.lastErrorAt,
      ];
    }
    const snapshot: Snapshot = { v: SNAPSHOT_VERSION, d: parts };
    return JSON.stringify(snapshot);
  }

  /** Replaces the others' parts with those in `table` (this replica's own entry is skipped). */
  #merge(table: Record<string, string>, now: number): void {
    for (const entry of this.#entries.values()) clearRemote(entry);
    const minute = Math.floor(now / MINUTE_MS);
    const parsed = new Map<string, ParsedEntry>();
    for (const [member, text] of Object.entries(table)) {
      if (member === this.replicaId) continue;
      // An idle replica publishes the same text every time: parse it once.
      const known = this.#parsed.get(member);
      const parts = known !== undefined && known.text === text ? known.parts : parseSnapshot(text);
      parsed.set(member, { text, parts });
      if (parts === null) continue;
      for (const [id, part] of Object.entries(parts)) {
        if (!isPart(part)) continue;
        const [inFlight, latency, usageMinute, requests, tokens, coolingUntil, verdict, probeAt, lastError, lastErrorAt] = part;
        const e = this.#entry(id);
        e.remoteInFlight += inFlight;
        if (latency !== null) {
          e.remoteLatencySum += latency;
          e.remoteLatencyCount++;
        }
        if (usageMinute === minute) {
          e.remoteMinute = minute;
          e.remoteRequests += requests;
          e.remoteTokens += tokens;
        }
        if (coolingUntil > e.remoteCoolingUntil) e.remoteCoolingUntil = coolingUntil;
        if (verdict === 0) e.remoteUnhealthy = true;
        if (probeAt > e.remoteLastProbeAt) e.remoteLastProbeAt = probeAt;
        if (lastError !== null && lastErrorAt >= e.remoteLastErrorAt) {
          e.remoteLastError = lastError;
          e.remoteLastErrorAt = lastErrorAt;
        }
      }
    }
    this.#parsed = parsed;
    for (const entry of this.#entries.values()) {
      entry.totalInFlight = entry.inFlight + entry.remoteInFlight;
      combineLatency(entry);
      combineHealth(entry);
    }
  }

  /** Stops the timer and withdraws this replica's entry, so the others stop counting its requests at once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#pushSoon !== null) clearImmediate(this.#pushSoon);
    this.#pushSoon = null;
    await this.#running;
    await this.#store.withdrawEntry(ROUTER_TABLE_KEY, this.replicaId).catch(() => undefined);
  }
}

function clearRemote(e: Entry): void {
  e.remoteInFlight = 0;
  e.remoteLatencySum = 0;
  e.remoteLatencyCount = 0;
  e.remoteMinute = 0;
  e.remoteRequests = 0;
  e.remoteTokens = 0;
  e.remoteCoolingUntil = 0;
  e.remoteUnhealthy = false;
  e.remoteLastError = null;
  e.remoteLastErrorAt = 0;
  e.remoteLastProbeAt = 0;
}

function combineLatency(e: Entry): void {
  const count = e.remoteLatencyCount + (e.latency === null ? 0 : 1);
  e.latencyView = count === 0 ? null : (e.remoteLatencySum + (e.latency ?? 0)) / count;
}

function combineHealth(e: Entry): void {
  const own = e.own;
  const view = e.health;
  view.healthy = own.healthy && !e.remoteUnhealthy;
  view.coolingUntil = Math.max(own.coolingUntil, e.remoteCoolingUntil);
  view.lastProbeAt = Math.max(own.lastProbeAt, e.remoteLastProbeAt);
  const remoteNewer = e.remoteLastError !== null && (own.lastError === null || e.remoteLastErrorAt > own.lastErrorAt);
  view.lastError = remoteNewer ? e.remoteLastError : own.lastError;
  view.lastErrorAt = remoteNewer ? e.remoteLastErrorAt : own.lastErrorAt;
}

function parseSnapshot(text: string): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const snapshot = parsed as Partial<Snapshot>;
  if (snapshot.v !== SNAPSHOT_VERSION || typeof snapshot.d !== 'object' || snapshot.d === null) return null;
  return snapshot.d as Record<string, unknown>;
}

const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** A part from another replica, checked: a malformed one is skipped rather than poisoning the counts. */
function isPart(part: unknown): part is Part {
  if (!Array.isArray(part) || part.length !== 10) return false;
  const [inFlight, latency, minute, requests, tokens, cooling, verdict, probeAt, lastError, lastErrorAt] = part as unknown[];
  return (
    isNumber(inFlight) &&
    inFlight >= 0 &&
    (latency === null || isNumber(latency)) &&
    isNumber(minute) &&
    isNumber(requests) &&
    isNumber(tokens) &&
    isNumber(cooling) &&
    (verdict === null || verdict === 0 || verdict === 1) &&
    isNumber(probeAt) &&
    (lastError === null || typeof lastError === 'string') &&
    isNumber(lastErrorAt)
  );
}

/**
 * The router state for an App: per process with the in-memory store (nothing to share, no timers); shared through
 * any other store (Redis, or a store that forwards to another process).
 */
export function createRouterState(store: SharedStore, logger: Logger, options: SharedRouterStateOptions = {}): RouterState {
  if (store.kind === 'memory') return new MemoryRouterState();
  return new SharedRouterState(store, logger, options);
}
