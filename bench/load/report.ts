// The printed report: one table per section (medians over rounds, with the spread), then the targets.

import type { LoadResult } from './loadgen.ts';
import type { SseResult } from './sse.ts';
import { max, median, min } from './stats.ts';

export type Target = 'direct' | 'nginx' | 'sluice' | 'sluice-mock';

/** Per target, one result per round (missing targets were skipped). */
export type RoundResults<R> = Map<Target, R[]>;

export interface Check {
  readonly label: string;
  /** The measured figure, formatted. */
  readonly value: string;
  /** null when the check could not run (e.g. no nginx). */
  readonly pass: boolean | null;
}

const LABEL: Readonly<Record<Target, string>> = {
  direct: 'direct (simulator)',
  nginx: 'via nginx',
  sluice: 'via Sluice',
  'sluice-mock': 'Sluice, mock provider',
};

/** Pads cells into columns: the first `left` left-aligned (labels), the rest right-aligned (figures). */
export function table(header: readonly string[], rows: readonly (readonly string[])[], left = 1): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((row) => (row[c] ?? '').length)));
  const line = (row: readonly string[]): string =>
    '  ' + row.map((cell, c) => (c < left ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ').trimEnd();
  return [line(header), '  ' + widths.map((w) => '-'.repeat(w)).join('   '), ...rows.map(line)].join('\n');
}

export const ms = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
export const signedMs = (v: number, digits = 3): string => (Number.isFinite(v) ? (v >= 0 ? '+' : '') + v.toFixed(digits) : 'n/a');
export const ratio = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}x` : 'n/a');
const count = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const spread = (values: readonly number[], fmt: (v: number) => string): string =>
  values.length < 2 ? '' : `${fmt(min(values))}-${fmt(max(values))}`;
const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/** Median of one figure over a target's rounds; NaN for a skipped target. */
export function med<R>(results: RoundResults<R>, target: Target, pick: (r: R) => number): number {
  return median((results.get(target) ?? []).map(pick));
}

export function throughputSection(results: RoundResults<LoadResult>, heading: string): string {
  const rows: string[][] = [];
  for (const [target, rounds] of results) {
    rows.push([
      LABEL[target],
      count(median(rounds.map((r) => r.rps))),
      spread(rounds.map((r) => r.rps), count),
      ms(median(rounds.map((r) => r.p50Ms)), 2),
      ms(median(rounds.map((r) => r.p99Ms)), 2),
      String(sum(rounds.map((r) => r.errors))),
    ]);
  }
  const rps = (t: Target): number => med(results, t, (r) => r.rps);
  return [
    heading,
    table(['', 'req/s', 'range', 'p50 ms', 'p99 ms', 'errors'], rows),
    `  Sluice / nginx = ${ratio(rps('sluice') / rps('nginx'))}   Sluice / direct = ${ratio(rps('sluice') / rps('direct'))}   ` +
      `mock / direct = ${ratio(rps('sluice-mock') / rps('direct'))}`,
    '  (the mock row has no backend at all: it measures the proxy alone and is not comparable to direct)',
  ].join('\n');
}

export function latencySection(results: RoundResults<LoadResult>, heading: string, notes: readonly string[]): string {
  const base50 = med(results, 'direct', (r) => r.p50Ms);
  const base99 = med(results, 'direct', (r) => r.p99Ms);
  const rows: string[][] = [];
  for (const [target, rounds] of results) {
    const p50 = median(rounds.map((r) => r.p50Ms));
    const p99 = median(rounds.map((r) => r.p99Ms));
    const isBase = target === 'direct';
    rows.push([
      LABEL[target],
      ms(p50),
      spread(rounds.map((r) => r.p50Ms), (v) => ms(v)),
      ms(p99),
      spread(rounds.map((r) => r.p99Ms), (v) => ms(v)),
      isBase ? '-' : signedMs(p50 - base50),
      isBase ? '-' : signedMs(p99 - base99),
      count(median(rounds.map((r) => r.rps))),
      String(sum(rounds.map((r) => r.errors))),
    ]);
  }
  return [
    heading,
    table(['', 'p50 ms', 'p50 range', 'p99 ms', 'p99 range', 'added p50', 'added p99', 'req/s', 'errors'], rows),
    versusNginx(results),
    ...notes.map((n) => `  ${n}`),
  ].join('\n');
}

/** Sluice's figures minus nginx's: the same topology, so only the proxies' own cost differs. */
function versusNginx<R extends { p50Ms: number; p99Ms: number }>(results: RoundResults<R>): string {
  if (!results.has('nginx')) return '  Sluice - nginx: n/a (no nginx)';
  const d50 = med(results, 'sluice', (r) => r.p50Ms) - med(results, 'nginx', (r) => r.p50Ms);
  const d99 = med(results, 'sluice', (r) => r.p99Ms) - med(results, 'nginx', (r) => r.p99Ms);
  return `  Sluice - nginx: p50 ${signedMs(d50)} ms, p99 ${signedMs(d99)} ms`;
}

export function sseSection(results: RoundResults<SseResult>, heading: string): string {
  const base50 = med(results, 'direct', (r) => r.p50Ms);
  const base99 = med(results, 'direct', (r) => r.p99Ms);
  const rows: string[][] = [];
  for (const [target, rounds] of results) {
    const p50 = median(rounds.map((r) => r.p50Ms));
    const p99 = median(rounds.map((r) => r.p99Ms));
    const isBase = target === 'direct';
    rows.push([
      LABEL[target],
      count(sum(rounds.map((r) => r.chunks))),
      `${sum(rounds.map((r) => r.streamsOk))}/${sum(rounds.map((r) => r.streamsFailed))}`,
      ms(p50),
      ms(p99),
      spread(rounds.map((r) => r.p99Ms), (v) => ms(v)),
      isBase ? '-' : signedMs(p50 - base50),
      isBase ? '-' : signedMs(p99 - base99),
    ]);
  }
  return [heading, table(['', 'chunks', 'streams ok/failed', 'p50 ms', 'p99 ms', 'p99 range', 'added p50', 'added p99'], rows), versusNginx(results)].join(
    '\n',
  );
}

export function targetsSection(checks: readonly Check[]): string {
  const rows = checks.map((c) => [c.pass === null ? 'SKIP' : c.pass ? 'PASS' : 'FAIL', c.label, c.value]);
  return ['TARGETS', table(['', 'target', 'measured'], rows, 2)].join('\n');
}
