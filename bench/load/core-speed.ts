// How fast each core runs right now, so a measurement taken while the host slowed a core can be taken again.
//
// This machine is a virtual one. Its host sometimes gives one of the two vCPUs about half its usual time, for
// minutes at a stretch (other tenants): the same compute loop then takes twice as long on that core, and a proxy
// pinned there costs twice the CPU per request. One proxy measured in such a stretch and the next one outside it
// gives a ratio that says nothing about either. Each measurement is therefore bracketed by a probe of both cores
// (a fixed loop in a process pinned to the core), and one during which a core ran well below the best speed this
// run has seen is repeated.

import { spawnSync } from 'node:child_process';

/**
 * A fixed amount of integer work (~20 ms at this machine's usual speed), timed inside the process, after start-up.
 * Its result is printed too (after the time), so the compiler cannot drop the loop.
 */
const PROBE_SCRIPT = `
const t0 = process.hrtime.bigint();
let x = 0;
for (let i = 0; i < 1e7; i++) x = (x + (i % 7)) | 0;
process.stdout.write(String(Number(process.hrtime.bigint() - t0) / 1e6) + ' ' + x);
`;

/** One probe: the loop's time on each core, in ms (Infinity when the probe could not run). */
export interface CoreTimes {
  readonly proxyCoreMs: number;
  readonly loadCoreMs: number;
}

/** Each core's speed as a share of the best this run has seen on it: 1 = as fast as ever, 0.5 = half speed. */
export interface CoreSpeeds {
  readonly proxyCore: number;
  readonly loadCore: number;
}

/** A measurement whose probes, before or after, found a core below this share of its best is repeated. */
export const SLOWED_BELOW = 0.8;

export class CoreSpeedProbe {
  readonly #node: string;
  readonly #pinned: boolean;
  /** The fastest probe seen per core: the run's reference for "usual speed". */
  #best: CoreTimes = { proxyCoreMs: Number.POSITIVE_INFINITY, loadCoreMs: Number.POSITIVE_INFINITY };
  #last: { readonly times: CoreTimes; readonly at: number } | null = null;

  constructor(node: string, pinned: boolean) {
    this.#node = node;
    this.#pinned = pinned;
  }

  /** Times the loop on both cores (one after the other, ~0.1 s each with start-up); null when nothing is pinned. */
  probe(): CoreTimes | null {
    if (!this.#pinned) return null;
    const times = { proxyCoreMs: this.#time(0), loadCoreMs: this.#time(1) };
    this.#best = { proxyCoreMs: Math.min(this.#best.proxyCoreMs, times.proxyCoreMs), loadCoreMs: Math.min(this.#best.loadCoreMs, times.loadCoreMs) };
    this.#last = { times, at: performance.now() };
    return times;
  }

  /** The last probe if it is at most `maxAgeMs` old, else a new one. */
  recent(maxAgeMs: number): CoreTimes | null {
    return this.#last !== null && performance.now() - this.#last.at <= maxAgeMs ? this.#last.times : this.probe();
  }

  /** `times` as shares of the best seen so far (at the end of a run: of the run's best). */
  speeds(times: CoreTimes): CoreSpeeds {
    return { proxyCore: share(this.#best.proxyCoreMs, times.proxyCoreMs), loadCore: share(this.#best.loadCoreMs, times.loadCoreMs) };
  }

  #time(core: 0 | 1): number {
    const result = spawnSync('taskset', ['-c', String(core), this.#node, '-e', PROBE_SCRIPT], { encoding: 'utf8', timeout: 10_000 });
    const ms = Number(result.stdout.split(' ')[0]);
    return result.status === 0 && Number.isFinite(ms) && ms > 0 ? ms : Number.POSITIVE_INFINITY;
  }
}

/** A probe that could not run tells nothing: it counts as full speed, so it never marks a measurement. */
function share(bestMs: number, ms: number): number {
  return Number.isFinite(bestMs) && Number.isFinite(ms) ? bestMs / ms : 1;
}

/** The slower of two probes per core: the one before a measurement and the one after. */
export function slower(a: CoreTimes | null, b: CoreTimes | null): CoreTimes | null {
  if (a === null || b === null) return a ?? b;
  return { proxyCoreMs: Math.max(a.proxyCoreMs, b.proxyCoreMs), loadCoreMs: Math.max(a.loadCoreMs, b.loadCoreMs) };
}

export function isSlowed(speeds: CoreSpeeds): boolean {
  return speeds.proxyCore < SLOWED_BELOW || speeds.loadCore < SLOWED_BELOW;
}
