// Router state: what routing and health decisions read (in-flight counts, latency, usage, cooldowns, health).
//
// Reads are synchronous because a routing decision must take microseconds. MemoryRouterState is per process: a
// lone replica routes on what it has seen itself. With a shared store (Redis), SharedRouterState
// (shared-router-state.ts) keeps the same local, synchronous reads and exchanges them with the other replicas in
// the background. The App builds the state once, so it survives a config reload.

/** Why a deployment is out of rotation. */
export type UnavailableReason = 'cooldown' | 'unhealthy';

export interface DeploymentHealth {
  /** False after `fall` failed probes (or passive failures); true again after `rise` good probes. */
  healthy: boolean;
  /** Epoch ms until which the deployment is cooling down; 0 when not. */
  coolingUntil: number;
  /** The last error seen, for /health and for "no deployment" errors. Never contains credentials. */
  lastError: string | null;
  /** Epoch ms of `lastError`. */
  lastErrorAt: number;
  /** Epoch ms of the last active probe; 0 if never probed. */
  lastProbeAt: number;
}

export interface Usage {
  requests: number;
  tokens: number;
}

export interface RouterState {
  /** Requests in flight on the deployment: this replica's, plus the other replicas' when the state is shared. */
  inFlight(id: string): number;
  /** Requests in flight on the deployment from this replica alone (for per-process metrics). */
  localInFlight(id: string): number;
  /** Called when an attempt is sent; MUST be paired with exactly one `release`. */
  acquire(id: string): void;
  release(id: string): void;

  /**
   * EWMA of latency in ms (time to first token for streams, total otherwise); null before the first sample. Shared:
   * the mean of the replicas' EWMAs.
   */
  latency(id: string): number | null;
  observeLatency(id: string, ms: number): void;

  /** Requests and tokens charged to the deployment in the current minute (by every replica, when shared). */
  usage(id: string, now: number): Usage;
  addUsage(id: string, requests: number, tokens: number, now: number): void;

  /** Counts a failure of one class; returns how many of that class the deployment had this minute (this replica). */
  addFailure(id: string, errorClass: string, now: number): number;

  /** What is known of the deployment's health; change it through the methods below, never by writing to it. */
  health(id: string): Readonly<DeploymentHealth>;
  /** Takes the deployment out of rotation until `until` (epoch ms). */
  coolDown(id: string, until: number, error: string, now: number): void;
  /** Records the result of an active probe or a passive verdict. */
  setHealthy(id: string, healthy: boolean, error: string | null, now: number): void;
  /** Records an error that neither cools nor condemns the deployment (for /health and "no deployment" errors). */
  noteError(id: string, error: string, now: number): void;
  /** Why the deployment cannot take traffic now, or null if it can. */
  unavailable(id: string, now: number): UnavailableReason | null;
  /** Stops background work (a shared state's sync timer) and withdraws this replica's part. */
  close(): Promise<void>;
}

const EWMA_ALPHA = 0.3;
export const MINUTE_MS = 60_000;

/** One deployment's own counts, kept the same way by the per-process and the shared state. */
export interface OwnCounts {
  latency: number | null;
  /** The minute (epoch ms / 60 000) that `requests` and `tokens` count. */
  minute: number;
  requests: number;
  tokens: number;
  failMinute: number;
  fails: Map<string, number> | null;
}

/** A deployment no one has reported on: healthy, never cooled, never probed. */
export function newHealth(): DeploymentHealth {
  return { healthy: true, coolingUntil: 0, lastError: null, lastErrorAt: 0, lastProbeAt: 0 };
}

/** Folds a latency sample into the EWMA. */
export function observeLatencyOn(counts: OwnCounts, ms: number): void {
  counts.latency = counts.latency === null ? ms : counts.latency + EWMA_ALPHA * (ms - counts.latency);
}

/** Adds to this minute's usage, starting the minute afresh when it has turned. */
export function addUsageOn(counts: OwnCounts, requests: number, tokens: number, now: number): void {
  const minute = Math.floor(now / MINUTE_MS);
  if (counts.minute !== minute) {
    counts.minute = minute;
    counts.requests = 0;
    counts.tokens = 0;
  }
  counts.requests += requests;
  counts.tokens += tokens;
}

/** Counts a failure of one class this minute and returns the minute's count of that class. */
export function addFailureOn(counts: OwnCounts, errorClass: string, now: number): number {
  const minute = Math.floor(now / MINUTE_MS);
  if (counts.fails === null || counts.failMinute !== minute) {
    counts.failMinute = minute;
    counts.fails = new Map();
  }
  const count = (counts.fails.get(errorClass) ?? 0) + 1;
  counts.fails.set(errorClass, count);
  return count;
}

interface Entry extends OwnCounts {
  inFlight: number;
  health: DeploymentHealth;
}

/** Single-process state. Entries are created on first touch, so unknown ids read as idle and healthy. */
export class MemoryRouterState implements RouterState {
  readonly #entries = new Map<string, Entry>();

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
        health: newHealth(),
      };
      this.#entries.set(id, entry);
    }
    return entry;
  }

  inFlight(id: string): number {
    return this.#entries.get(id)?.inFlight ?? 0;
  }
  localInFlight(id: string): number {
    return this.#entries.get(id)?.inFlight ?? 0;
  }
  acquire(id: string): void {
    this.#entry(id).inFlight++;
  }
  release(id: string): void {
    const entry = this.#entry(id);
    if (entry.inFlight > 0) entry.inFlight--;
  }

  latency(id: string): number | null {
    return this.#entries.get(id)?.latency ?? null;
  }
  observeLatency(id: string, ms: number): void {
    observeLatencyOn(this.#entry(id), ms);
  }

  usage(id: string, now: number): Usage {
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.minute !== Math.floor(now / MINUTE_MS)) return { requests: 0, tokens: 0 };
    return { requests: entry.requests, tokens: entry.tokens };
  }
  addUsage(id: string, requests: number, tokens: number, now: number): void {
    addUsageOn(this.#entry(id), requests, tokens, now);
  }

  addFailure(id: string, errorClass: string, now: number): number {
    return addFailureOn(this.#entry(id), errorClass, now);
  }

  health(id: string): DeploymentHealth {
    return this.#entry(id).health;
  }
  coolDown(id: string, until: number, error: string, now: number): void {
    const health = this.#entry(id).health;
    health.coolingUntil = Math.max(health.coolingUntil, until);
    health.lastError = error;
    health.lastErrorAt = now;
  }
  setHealthy(id: string, healthy: boolean, error: string | null, now: number): void {
    const health = this.#entry(id).health;
    health.healthy = healthy;
    health.lastProbeAt = now;
    if (error !== null) {
      health.lastError = error;
      health.lastErrorAt = now;
    }
  }
  noteError(id: string, error: string, now: number): void {
    const health = this.#entry(id).health;
    health.lastError = error;
    health.lastErrorAt = now;
  }
  unavailable(id: string, now: number): UnavailableReason | null {
    const entry = this.#entries.get(id);
    if (entry === undefined) return null;
    if (!entry.health.healthy) return 'unhealthy';
    return entry.health.coolingUntil > now ? 'cooldown' : null;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
