// The printed report: one table per section (medians over rounds, with the spread), then the targets.

import type { LoadResult } from './loadgen.ts';
import type { SseResult } from './sse.ts';
import { max, median, min } from './stats.ts';

/** `node-bare` is bench/load/bare-node-proxy.ts: Sluice's server and upstream client with nothing between, the floor. */
export type Target = 'direct' | 'nginx' | 'node-bare' | 'sluice' | 'sluice-bare' | 'sluice-mock';
/** The targets with a stream route. */
export type SseTarget = 'direct' | 'nginx' | 'node-bare' | 'sluice';

/** One HTTP run, with the proxy's CPU time per request (NaN for the direct call, which has no proxy). */
export interface HttpResult extends LoadResult {
  readonly cpuUsPerRequest: number;
}

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
  'node-bare': 'bare proxy (Sluice\'s two ends)',
  sluice: 'via Sluice',
  'sluice-bare': 'Sluice, no keys',
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

export function throughputSection(results: RoundResults<HttpResult>, heading: string): string {
  const rows: string[][] = [];
  for (const [target, rounds] of results) {
    rows.push([
      LABEL[target],
      count(median(rounds.map((r) => r.rps))),
      spread(rounds.map((r) => r.rps), count),
      ms(median(rounds.map((r) => r.p50Ms)), 2),
      ms(median(rounds.map((r) => r.p99Ms)), 2),
      ms(median(rounds.map((r) => r.cpuUsPerRequest)), 1),
      String(sum(rounds.map((r) => r.errors))),
    ]);
  }
  const rps = (t: Target): number => med(results, t, (r) => r.rps);
  const cpu = (t: Target): number => med(results, t, (r) => r.cpuUsPerRequest);
  const bare = results.has('sluice-bare')
    ? [`  Sluice / Sluice with no keys = ${ratio(rps('sluice') / rps('sluice-bare'))} (req/s), ${ratio(cpu('sluice') / cpu('sluice-bare'))} (CPU per request)`]
    : [];
  const floor = results.has('node-bare')
    ? [
        `  bare proxy / nginx = ${ratio(rps('node-bare') / rps('nginx'))} (req/s), ${ratio(cpu('node-bare') / cpu('nginx'))} (CPU per request)   ` +
          `Sluice / bare proxy = ${ratio(cpu('sluice') / cpu('node-bare'))} (CPU per request)`,
      ]
    : [];
  return [
    heading,
    table(['', 'req/s', 'range', 'p50 ms', 'p99 ms', 'proxy CPU µs/req', 'errors'], rows),
    `  Sluice / nginx = ${ratio(rps('sluice') / rps('nginx'))} (req/s), ${ratio(cpu('sluice') / cpu('nginx'))} (CPU per request)   ` +
      `Sluice / direct = ${ratio(rps('sluice') / rps('direct'))}   mock / direct = ${ratio(rps('sluice-mock') / rps('direct'))}`,
    ...bare,
    ...floor,
    '  (the mock row has no backend at all: it measures the proxy alone and is not comparable to direct;',
    '   CPU µs/req is the proxy process\'s user + system time over the run divided by the requests it answered)',
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
  const minus = (t: Target): string => {
    const d50 = med(results, t, (r) => r.p50Ms) - med(results, 'nginx', (r) => r.p50Ms);
    const d99 = med(results, t, (r) => r.p99Ms) - med(results, 'nginx', (r) => r.p99Ms);
    return `p50 ${signedMs(d50)} ms, p99 ${signedMs(d99)} ms`;
  };
  const floor = results.has('node-bare') ? `   bare proxy - nginx: ${minus('node-bare')}` : '';
  return `  Sluice - nginx: ${minus('sluice')}${floor}`;
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
      ms(median(rounds.map((r) => r.laterP99Ms))),
      ms(median(rounds.map((r) => r.ttfbP50Ms))),
    ]);
  }
  return [
    heading,
    table(['', 'chunks', 'streams ok/failed', 'p50 ms', 'p99 ms', 'p99 range', 'added p50', 'added p99', 'p99 past chunk 2', 'TTFB p50 ms'], rows),
    versusNginx(results),
    "  (p99 past chunk 2: each stream's first two chunks left out; they arrive while the wave's other requests are set up)",
  ].join('\n');
}

/** What the paste table reads: the three sections' results. */
export interface PasteSource {
  readonly throughput: RoundResults<HttpResult>;
  readonly latency: RoundResults<HttpResult>;
  readonly sse: RoundResults<SseResult>;
}

/**
 * The headline figures as a Markdown table, Sluice beside nginx with their ratio, ready to paste into the README
 * (and into an issue). One line per figure of issue 16's table.
 */
export function pasteTable(m: PasteSource, chain: string, how: string): string {
  const a = (t: Target, pick: (r: HttpResult) => number): number => med(m.throughput, t, pick);
  const b = (t: Target, pick: (r: HttpResult) => number): number => med(m.latency, t, pick);
  const c = (t: Target, pick: (r: SseResult) => number): number => med(m.sse, t, pick);
  const added = (t: Target): number => b(t, (r) => r.p50Ms) - b('direct', (r) => r.p50Ms);
  /** One figure: Sluice, nginx, Sluice against nginx, then the bare proxy and it against nginx. */
  type Figure = readonly [sluice: number, nginx: number, bare: number];
  const row = (label: string, [sluice, nginx, bare]: Figure, fmt: (v: number) => string, vs: (x: number, nginx: number) => string): string =>
    `| ${label} | ${fmt(sluice)} | ${fmt(nginx)} | ${vs(sluice, nginx)} | ${fmt(bare)} | ${vs(bare, nginx)} |`;
  const times = (x: number, nginx: number): string => ratio(x / nginx);
  const over = (x: number, nginx: number): string => `${signedMs(x - nginx)} ms`;
  const three = (f: (t: Target) => number): Figure => [f('sluice'), f('nginx'), f('node-bare')];
  const rps = three((t) => a(t, (r) => r.rps));
  const cpu = three((t) => a(t, (r) => r.cpuUsPerRequest));
  const p99 = three((t) => a(t, (r) => r.p99Ms));
  const add = three(added);
  const sse = three((t) => c(t, (r) => r.p99Ms));
  const ttfb = three((t) => c(t, (r) => r.ttfbP50Ms));
  const msText = (v: number): string => `${ms(v, 2)} ms`;
  return [
    `PASTE: Sluice (${chain}) vs nginx, 1 worker, and a bare proxy (Sluice's server and upstream client, nothing between), same run (${how})`,
    '',
    '| | Sluice | nginx | Sluice vs nginx | bare proxy | bare proxy vs nginx |',
    '|---|---|---|---|---|---|',
    row('req/s at 64 connections', rps, count, times),
    row('proxy CPU per request at 64 connections', cpu, (v) => `${ms(v, 1)} µs`, times),
    row('p99 at 64 connections', p99, msText, times),
    row('added p50 at 1 connection (vs direct)', add, (v) => `${signedMs(v, 2)} ms`, over),
    row(`SSE chunk delay p99 (direct ${ms(c('direct', (r) => r.p99Ms), 2)} ms)`, sse, msText, times),
    row(`SSE time to first byte p50 (direct ${ms(c('direct', (r) => r.ttfbP50Ms), 2)} ms)`, ttfb, msText, times),
  ].join('\n');
}

export function targetsSection(checks: readonly Check[], heading = 'TARGETS'): string {
  const rows = checks.map((c) => [c.pass === null ? 'SKIP' : c.pass ? 'PASS' : 'FAIL', c.label, c.value]);
  return [heading, table(['', 'target', 'measured'], rows, 2)].join('\n');
}
