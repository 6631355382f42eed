// Soak: steady mixed traffic through the default chain for minutes, watching whether the gateway's memory settles.
//
//   npm run bench:soak [-- --minutes 10 --interval-s 60 --clients 20 --rate 300 --max-growth 10 --snapshots --no-gc]
//
// Sluice runs its default chain (auth.api_key, limit.key, route.simple_shuffle, health.active) with a master key and
// two virtual keys: team-a with limits it stays under, team-b with an rpm it keeps hitting. `--clients` loops send,
// at `--rate` requests a second in all (0: as fast as they can), a mix of JSON answers, SSE streams, clients that
// leave mid-stream or before the answer, 429s (team-b's rpm, and a backend that always answers 429), and unknown
// models. Every `--interval-s` it prints the requests of the interval, their outcomes, and the gateway's RSS (from
// /proc/<pid>/status) and heapUsed (after a full GC, printed by bench/load/memory-probe.ts, which only the soak
// loads). `--snapshots` also has the gateway write a heap snapshot at each report from the baseline on; compare
// two in Chrome DevTools (Memory → Comparison) to see what grows.
//
// The baseline is the second interval (the first holds JIT warm-up and pools filling). Exit code 1 when RSS or
// heapUsed grew by more than `--max-growth` percent from the baseline to the end, or a process died. RSS is not
// judged with `--snapshots` (writing one inflates it for good), nor heapUsed with `--no-gc` (it counts garbage; use
// that mode to watch RSS as production sees it, where V8 grows its heap lazily and RSS moves in a sawtooth).

import { randomUUID } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Processes, freePort, sleep, waitForHttp, waitForOutput, type Child } from './load/procs.ts';

const ROOT = resolve(import.meta.dirname, '..');
const NODE = process.execPath;
const START_TIMEOUT_MS = 20_000;
/** A request still unanswered after this long counts as an error (and its socket is dropped). */
const REQUEST_TIMEOUT_MS = 30_000;

const MASTER_KEY = 'sk-soak-master-0123456789';
const TEAM_A_KEY = 'sk-soak-team-a-0123456789';
const TEAM_B_KEY = 'sk-soak-team-b-0123456789';

class UsageError extends Error {}

interface Options {
  minutes: number;
  intervalS: number;
  clients: number;
  /** Requests a second over all clients; 0 = unpaced. */
  rate: number;
  /** Percent of growth from the baseline to the end that fails the run. */
  maxGrowth: number;
  snapshots: boolean;
  /** Collect garbage before each reading (`--expose-gc`), so heapUsed is what is retained. */
  gc: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '10' },
      'interval-s': { type: 'string', default: '60' },
      clients: { type: 'string', default: '20' },
      rate: { type: 'string', default: '300' },
      'max-growth': { type: 'string', default: '10' },
      snapshots: { type: 'boolean', default: false },
      gc: { type: 'boolean', default: true },
    },
    allowNegative: true,
    strict: true,
  });
  const minutes = Number(values.minutes);
  const intervalS = Number(values['interval-s']);
  const clients = Number(values.clients);
  const rate = Number(values.rate);
  const maxGrowth = Number(values['max-growth']);
  if (!(minutes > 0 && minutes <= 240)) throw new UsageError('--minutes wants a number, above 0 and up to 240');
  if (!(Number.isInteger(intervalS) && intervalS >= 5)) throw new UsageError('--interval-s wants whole seconds, at least 5');
  if (minutes * 60 < intervalS * 3) throw new UsageError('the run needs at least three intervals (the baseline is the second)');
  if (!(Number.isInteger(clients) && clients >= 1 && clients <= 500)) throw new UsageError('--clients wants an integer, 1..500');
  if (!(Number.isFinite(rate) && rate >= 0)) throw new UsageError('--rate wants requests a second (0: unpaced)');
  if (!(Number.isFinite(maxGrowth) && maxGrowth >= 0)) throw new UsageError('--max-growth wants a percentage');
  return { minutes, intervalS, clients, rate, maxGrowth, snapshots: values.snapshots === true, gc: values.gc !== false };
}

// ---- the traffic ------------------------------------------------------------------------------------------------

type Abort = 'none' | 'during-body' | 'before-answer' | 'after-first-chunk';

interface Shot {
  readonly name: string;
  readonly weight: number;
  readonly key: string;
  readonly body: string;
  readonly abort: Abort;
  /** Send an `x-request-id` of the client's own (leases and logs are keyed by it). */
  readonly ownId?: boolean;
}

const chat = (model: string, stream: boolean, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'Say something short about rivers.' }], ...extra });

const SHOTS: readonly Shot[] = [
  { name: 'json', weight: 22, key: TEAM_A_KEY, body: chat('sim', false), abort: 'none' },
  { name: 'json with own id', weight: 6, key: TEAM_A_KEY, body: chat('sim', false), abort: 'none', ownId: true },
  { name: 'stream', weight: 18, key: TEAM_A_KEY, body: chat('sim', true), abort: 'none' },
  { name: 'master json', weight: 5, key: MASTER_KEY, body: chat('sim', false), abort: 'none' },
  { name: 'master stream', weight: 5, key: MASTER_KEY, body: chat('sim', true, { stream_options: { include_usage: true } }), abort: 'none' },
  { name: 'abort mid-stream', weight: 8, key: TEAM_A_KEY, body: chat('sim', true), abort: 'after-first-chunk' },
  { name: 'abort before answer', weight: 5, key: TEAM_A_KEY, body: chat('sim-slow', false), abort: 'before-answer', ownId: true },
  { name: 'abort during body', weight: 2, key: TEAM_A_KEY, body: chat('sim', false), abort: 'during-body' },
  { name: 'team-b (over its limits)', weight: 18, key: TEAM_B_KEY, body: chat('sim', false), abort: 'none' },
  { name: 'unknown model', weight: 6, key: TEAM_A_KEY, body: chat('no-such-model', false), abort: 'none' },
  { name: 'backend 429', weight: 5, key: TEAM_A_KEY, body: chat('busy', false), abort: 'none' },
];
const TOTAL_WEIGHT = SHOTS.reduce((sum, s) => sum + s.weight, 0);

function pickShot(): Shot {
  let draw = Math.random() * TOTAL_WEIGHT;
  for (const shot of SHOTS) if ((draw -= shot.weight) < 0) return shot;
  return SHOTS[0]!;
}

/** Outcomes of one interval: by status (`200`, `429`...), `aborted` (on purpose), `error` (transport, timeout). */
type Tally = Map<string, number>;

function count(tally: Tally, what: string): void {
  tally.set(what, (tally.get(what) ?? 0) + 1);
}

/** One request; resolves to its outcome, never rejects. */
function send(url: string, shot: Shot, agent: Agent): Promise<string> {
  return new Promise((resolvePromise) => {
    let settled = false;
    const done = (outcome: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolvePromise(outcome);
    };
    const req = request(url, {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(shot.body),
        authorization: `Bearer ${shot.key}`,
        ...(shot.ownId === true ? { 'x-request-id': randomUUID() } : {}),
      },
    });
    const timer = setTimeout(() => {
      req.destroy(new Error('timeout'));
      done('error');
    }, REQUEST_TIMEOUT_MS);
    req.on('error', () => done(settled ? 'aborted' : 'error'));
    req.on('response', (res) => {
      if (shot.abort === 'after-first-chunk' && res.statusCode === 200) {
        res.once('data', () => {
          req.destroy();
          done('aborted');
        });
      } else {
        res.resume();
      }
      res.on('end', () => done(String(res.statusCode)));
      res.on('close', () => done(String(res.statusCode)));
      res.on('error', () => done('error'));
    });
    if (shot.abort === 'during-body') {
      // Half the body, then gone: the gateway is still reading it.
      req.write(shot.body.slice(0, shot.body.length >> 1));
      setTimeout(() => {
        req.destroy();
        done('aborted');
      }, 5);
      return;
    }
    req.end(shot.body);
    if (shot.abort === 'before-answer') {
      // `sim-slow` answers after 50 ms: leave while the gateway waits for it.
      setTimeout(() => {
        req.destroy();
        done('aborted');
      }, 10);
    }
  });
}

/** One client: requests back to back, spaced to its share of `rate`, until `stopAt`. */
async function client(url: string, agent: Agent, gapMs: number, stopAt: number, current: () => Tally): Promise<void> {
  // Clients start spread over one gap so they do not move in lockstep.
  await sleep(Math.random() * gapMs);
  let next = Date.now();
  while (Date.now() < stopAt) {
    next += gapMs;
    count(current(), await send(url, pickShot(), agent));
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    else next = Date.now();
  }
}

// ---- the processes ----------------------------------------------------------------------------------------------

function sluiceConfig(port: number, sim: number, slowSim: number, busySim: number): string {
  return `server: { host: 127.0.0.1, port: ${port}, log_level: warn }
general_settings: { master_key: ${MASTER_KEY} }
keys:
  - { key: ${TEAM_A_KEY}, alias: team-a, rpm: 100000000, tpm: 1000000000, max_parallel_requests: 12 }
  - { key: ${TEAM_B_KEY}, alias: team-b, rpm: 600, tpm: 15000, max_parallel_requests: 2 }
model_list:
  - model_name: sim
    litellm_params: { model: openai/sim, api_base: http://127.0.0.1:${sim} }
    model_info: { id: sim-1 }
  - model_name: sim
    litellm_params: { model: openai/sim, api_base: http://127.0.0.1:${sim}/v1 }
    model_info: { id: sim-2 }
  - model_name: sim-slow
    litellm_params: { model: openai/sim-slow, api_base: http://127.0.0.1:${slowSim} }
  - model_name: busy
    litellm_params: { model: openai/busy, api_base: http://127.0.0.1:${busySim} }
`;
}

async function startSim(procs: Processes, name: string, port: number, extra: readonly string[]): Promise<Child> {
  const sim = procs.start(name, NODE, ['test/sim/cli.ts', '--kind', 'openai', '--port', String(port), ...extra], 1, ROOT);
  await waitForOutput(sim, /^listening /m, START_TIMEOUT_MS);
  return sim;
}

interface MemoryReading {
  rss: number;
  heapUsed: number;
}

/** A line of bench/load/memory-probe.ts. */
interface ProbeReading extends MemoryReading {
  /** Epoch ms of the reading. */
  at: number;
  heapTotal: number;
  external: number;
}

/** The gateway's resident set from /proc, in bytes; null when it cannot be read (not Linux, process gone). */
function procRss(pid: number): number | null {
  try {
    const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return line === null ? null : Number(line[1]) * 1024;
  } catch {
    return null;
  }
}

/** Follows the memory probe's lines on the gateway's stderr; `latest` is the last heap reading. */
function followProbe(child: Child): { latest: ProbeReading | null } {
  const state: { latest: ProbeReading | null } = { latest: null };
  let pending = '';
  child.proc.stderr?.on('data', (data: Buffer) => {
    pending += data.toString('utf8');
    let cut: number;
    while ((cut = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, cut);
      pending = pending.slice(cut + 1);
      if (line.startsWith('SLUICE_MEMORY ')) state.latest = JSON.parse(line.slice('SLUICE_MEMORY '.length)) as ProbeReading;
    }
  });
  return state;
}

// ---- the run ----------------------------------------------------------------------------------------------------

const mb = (bytes: number): string => (bytes / 1048576).toFixed(1);
const progress = (line: string): boolean => process.stdout.write(line + '\n');

function growth(from: number, to: number): number {
  return (to - from) / from;
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-soak-'));
  const snapshotDir = mkdtempSync(join(tmpdir(), 'sluice-soak-heap-'));
  const procs = new Processes(false);
  const onExit = (): void => procs.killAllNow();
  process.on('exit', onExit);
  let failed = false;
  try {
    const [port, sim, slowSim, busySim] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    await Promise.all([
      startSim(procs, 'simulator', sim, ['--chunk-interval-ms', '5', '--tokens', '20']),
      startSim(procs, 'simulator (slow)', slowSim, ['--delay-ms', '50']),
      startSim(procs, 'simulator (429)', busySim, ['--status', '429']),
    ]);
    const config = join(tmp, 'sluice.yaml');
    writeFileSync(config, sluiceConfig(port, sim, slowSim, busySim));
    const probeMs = Math.min(5000, (options.intervalS * 1000) / 4);
    process.env['SLUICE_MEMORY_PROBE_MS'] = String(probeMs);
    const gatewayArgs = [
      ...(options.gc ? ['--expose-gc'] : []),
      '--heapsnapshot-signal=SIGUSR2',
      `--diagnostic-dir=${snapshotDir}`,
      '--import',
      join(ROOT, 'bench/load/memory-probe.ts'),
      'core/main.js',
      '--config',
      config,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
    ];
    const sluice = procs.start('sluice', NODE, gatewayArgs, 0, ROOT);
    const probe = followProbe(sluice);
    await waitForHttp(sluice, `http://127.0.0.1:${port}/health/readiness`, START_TIMEOUT_MS);
    const pid = sluice.proc.pid!;

    const url = `http://127.0.0.1:${port}/v1/chat/completions`;
    const agent = new Agent({ keepAlive: true, maxSockets: options.clients });
    const gapMs = options.rate === 0 ? 0 : (options.clients * 1000) / options.rate;
    const intervals = Math.floor((options.minutes * 60) / options.intervalS);
    const stopAt = Date.now() + intervals * options.intervalS * 1000;
    let tally: Tally = new Map();
    const readings: MemoryReading[] = [];
    progress(
      `soak: ${intervals} x ${options.intervalS} s, ${options.clients} clients, ${options.rate === 0 ? 'unpaced' : `${options.rate} req/s`}; ` +
        `gateway pid ${pid}${options.snapshots ? `; heap snapshots in ${snapshotDir}` : ''}`,
    );
    progress(`mix: ${SHOTS.map((s) => `${s.name} ${Math.round((100 * s.weight) / TOTAL_WEIGHT)}%`).join(', ')}`);
    const clients = Array.from({ length: options.clients }, () => client(url, agent, gapMs, stopAt, () => tally));

    for (let i = 1; i <= intervals; i++) {
      await sleep(stopAt - (intervals - i) * options.intervalS * 1000 - Date.now());
      if (!sluice.running) throw new Error(`sluice exited during the run (${sluice.exitReason ?? '?'})\n${sluice.output}`);
      const seen = tally;
      tally = new Map();
      // The probe's last reading is at most one probe period old; wait for a fresh one so it matches /proc's.
      const since = Date.now();
      while ((probe.latest === null || probe.latest.at < since) && sluice.running) await sleep(100);
      const heap = probe.latest!;
      const rss = procRss(pid) ?? heap.rss;
      readings.push({ rss, heapUsed: heap.heapUsed });
      const total = [...seen.values()].reduce((a, b) => a + b, 0);
      const outcomes = [...seen.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
      progress(`[${String(i).padStart(2)}] ${total} requests (${outcomes}); rss ${mb(rss)} MB, heapUsed ${mb(heap.heapUsed)} MB (of ${mb(heap.heapTotal)}), external ${mb(heap.external)} MB`);
      if (options.snapshots && i >= 2) sluice.proc.kill('SIGUSR2');
    }
    await Promise.all(clients);
    agent.destroy();

    const base = readings[1]!;
    const last = readings[readings.length - 1]!;
    const rssGrowth = growth(base.rss, last.rss);
    const heapGrowth = growth(base.heapUsed, last.heapUsed);
    const limit = options.maxGrowth / 100;
    // Writing a heap snapshot roughly doubles RSS for good, and without a GC before each reading heapUsed counts
    // garbage: each of those figures is only judged when it means something.
    const judged: string[] = [];
    if (!options.snapshots) judged.push('rss');
    if (options.gc) judged.push('heapUsed');
    progress(
      `growth from interval 2 to ${readings.length}: rss x${(last.rss / base.rss).toFixed(3)} (${(100 * rssGrowth).toFixed(1)}%), ` +
        `heapUsed x${(last.heapUsed / base.heapUsed).toFixed(3)} (${(100 * heapGrowth).toFixed(1)}%); limit ${options.maxGrowth}%`,
    );
    if (options.snapshots) progress(`heap snapshots: ${snapshotDir}`);
    progress(`judged: ${judged.join(' and ')}${options.snapshots ? ' (rss is not: heap snapshots inflate it)' : ''}${options.gc ? '' : ' (heapUsed is not: --no-gc)'}`);
    if ((judged.includes('rss') && rssGrowth > limit) || (judged.includes('heapUsed') && heapGrowth > limit)) {
      progress('FAIL: memory kept growing');
      failed = true;
    } else {
      progress('ok: memory settled');
    }
  } catch (error) {
    process.stderr.write(`soak failed: ${(error as Error).message}\n`);
    failed = true;
  } finally {
    await procs.stopAll();
    process.off('exit', onExit);
    rmSync(tmp, { recursive: true, force: true });
    if (!options.snapshots) rmSync(snapshotDir, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
