// Helpers shared by the routing strategies. Nothing here holds state: every cache lives in a plugin instance.

import type { Deployment, RequestContext } from '../../core/plugin/api.ts';

/** A random integer in [0, n). */
export function randomIndex(n: number): number {
  return Math.floor(Math.random() * n);
}

/**
 * True when `copy` holds exactly the deployments of `candidates`, in the same order. The core may build a new
 * array per attempt (or reuse one), so a strategy keeps its own copy and compares element by element: 100
 * pointer comparisons cost far less than 100 map lookups.
 */
export function sameCandidates(copy: readonly Deployment[], candidates: readonly Deployment[]): boolean {
  const n = candidates.length;
  if (copy.length !== n) return false;
  for (let i = 0; i < n; i++) if (copy[i] !== candidates[i]) return false;
  return true;
}

/**
 * Where each candidate sits in a per-group list of every deployment seen (the "universe"), so a strategy can
 * keep per-deployment numbers in typed arrays indexed by universe position instead of maps keyed by id.
 *
 * `update` is called per decision: when the candidates are the same objects in the same order as last time it
 * returns false after comparing pointers. When they changed, it finds the new positions by walking the candidates
 * and the universe together: the core passes the group's deployments in config order, minus some, so that walk
 * usually settles every position with pointer comparisons; anything out of order, or unknown, is found by id
 * (an unknown deployment is appended to the universe). Nothing is allocated unless the universe grows.
 */
export class CandidateIndex {
  /** Every deployment seen in the group: those it was created with, then any others as they appear. */
  readonly universe: Deployment[];
  readonly #byId = new Map<string, number>();
  /** A copy of the last candidate list. */
  readonly #list: Deployment[] = [];
  /** `positions[i]`: the universe position of the i-th current candidate. */
  positions = new Int32Array(16);

  constructor(initial: readonly Deployment[]) {
    this.universe = [];
    for (const d of initial) this.#add(d);
  }

  get size(): number {
    return this.universe.length;
  }

  #add(d: Deployment): number {
    const known = this.#byId.get(d.id);
    if (known !== undefined) return known;
    const position = this.universe.length;
    this.universe.push(d);
    this.#byId.set(d.id, position);
    return position;
  }

  /** Brings `positions` up to date with `candidates`; true when they changed since the last call. */
  update(candidates: readonly Deployment[]): boolean {
    const list = this.#list;
    if (sameCandidates(list, candidates)) return false;
    const n = candidates.length;
    if (this.positions.length < n) this.positions = new Int32Array(Math.max(n, this.positions.length * 2));
    const positions = this.positions;
    const universe = this.universe;
    let u = 0;
    for (let i = 0; i < n; i++) {
      const d = candidates[i]!;
      while (u < universe.length && universe[u] !== d) u++;
      if (u < universe.length) {
        positions[i] = u++;
      } else {
        positions[i] = this.#add(d);
        u = universe.length;
      }
    }
    list.length = n;
    for (let i = 0; i < n; i++) list[i] = candidates[i]!;
    return true;
  }
}

/** Per model group state, created on first use. */
export function perGroup<T>(map: Map<string, T>, group: string, make: () => T): T {
  let value = map.get(group);
  if (value === undefined) {
    value = make();
    map.set(group, value);
  }
  return value;
}

/**
 * Picks uniformly among the candidates whose `score` is lowest (reservoir sampling over the ties), so that
 * equal deployments share the load instead of the first one taking everything. `scores` is scratch space of at
 * least `candidates.length` entries, filled by the caller.
 */
export function pickLowest(candidates: readonly Deployment[], scores: Float64Array): Deployment {
  const n = candidates.length;
  let best = 0;
  let bestScore = scores[0]!;
  let ties = 1;
  for (let i = 1; i < n; i++) {
    const score = scores[i]!;
    if (score < bestScore) {
      bestScore = score;
      best = i;
      ties = 1;
    } else if (score === bestScore && Math.random() * ++ties < 1) {
      best = i;
    }
  }
  return candidates[best]!;
}

/** Scratch space that grows to the largest candidate set seen; one per plugin instance (route is synchronous). */
export class Scratch {
  #buffer = new Float64Array(16);
  get(n: number): Float64Array {
    if (this.#buffer.length < n) this.#buffer = new Float64Array(Math.max(n, this.#buffer.length * 2));
    return this.#buffer;
  }
}

// ---- hashing -------------------------------------------------------------------------------------------------

export const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Strings longer than this are hashed by their head, their tail and their length, to bound the cost. */
const LONG_STRING = 8192;
const HEAD_TAIL = 4096;

/** FNV-1a (32-bit) over the UTF-16 code units of `text[from, to)`, continuing from `hash`. */
function fnvRange(hash: number, text: string, from: number, to: number): number {
  let h = hash;
  for (let i = from; i < to; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** FNV-1a of a string, continuing from `hash`. Very long strings (inline images) hash head + tail + length. */
export function fnvString(hash: number, text: string): number {
  const n = text.length;
  if (n <= LONG_STRING) return fnvRange(hash, text, 0, n);
  const head = fnvRange(hash, text, 0, HEAD_TAIL);
  return fnvNumber(fnvRange(head, text, n - HEAD_TAIL, n), n);
}

/** Mixes one 32-bit value (a separator, a length) into an FNV-1a hash. */
export function fnvNumber(hash: number, value: number): number {
  let h = hash;
  for (let shift = 0; shift < 32; shift += 8) {
    h ^= (value >>> shift) & 0xff;
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/**
 * MurmurHash3's finalizer. FNV-1a alone spreads short, similar strings ("a#1", "a#2") poorly over the 32-bit
 * space; this avalanche step makes ring positions and keys uniform.
 */
export function fmix32(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The model group being served, which per-group routing state is keyed on: after a fallback it is the fallback
 * group, not the group the client asked for.
 */
export function servedGroup(ctx: RequestContext): string {
  return ctx.group?.name ?? ctx.model;
}
