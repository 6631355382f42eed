// Memory: the gateway's resident set on the example config, idle and with many SSE streams held open.
//
//   npm run bench:memory [-- --streams 1000 --soak-minutes 0 --interval-s 30]
//
// Sluice runs config/proxy.example.yaml (its guards, its localizer, its mock and Ollama models) plus one model on an
// OpenAI simulator that streams slowly (a chunk every 250 ms), so streams stay open while they are counted. Printed:
//   - idle RSS after a first start (compile cache empty: Node strips the TypeScript types, which loads a compiler)
//     and after a second (cache warm, as every later start of an installed gateway is);
//   - RSS and peak RSS (VmHWM) with `--streams` streams open at once, every one past its first chunk; then the RSS
//     once they have all ended;
//   - with `--soak-minutes N`, N minutes of mixed traffic (JSON, streams, clients leaving mid-stream, a backend's
//     429s, unknown models) from 20 clients, RSS each `--interval-s`, and the growth from the second reading (the
//     first holds JIT warm-up and pools filling) to the last. bench/soak.ts is the fuller soak (default chain, keys,
//     limits, heap after GC); this one keeps the example config's guards and localizer.
// RSS is read from /proc/<pid>/status: Linux only. Timings on a shared machine are noisy; RSS much less so.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Processes, freePort, sleep, waitForHttp, waitForOutput, type Child } from './load/procs.ts';

const ROOT = resolve(import.meta.dirname, '..');
const NODE = process.execPath;
const START_TIMEOUT_MS = 60_000;
/** The simulator's pace: a stream of STREAM_TOKENS chunks lasts about a minute, long enough to count them all open. */
const CHUNK_INTERVAL_MS = 250;
const STREAM_TOKENS = 240;
/** Idle means no request for this long after the gateway is ready (health probes still run). */
const SETTLE_MS = 5_000;

class UsageError extends Error {}

interface Options {
  streams: number;
  soakMinutes: number;
  intervalS: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      streams: { type: 'string', default: '1000' },
      'soak-minutes': { type: 'string', default: '0' },
      'interval-s': { type: 'string', default: '30' },
    },
    strict: true,
  });
  const streams = Number(values.streams);
  const soakMinutes = Number(values['soak-minutes']);
  const intervalS = Number(values['interval-s']);
  if (!(Number.isInteger(streams) && streams >= 1 && streams <= 5000)) throw new UsageError('--streams wants an integer, 1..5000');
  if (!(soakMinutes >= 0 && soakMinutes <= 240)) throw new UsageError('--soak-minutes wants a number, 0..240');
  if (!(Number.isInteger(intervalS) && intervalS >= 5)) throw new UsageError('--interval-s wants whole seconds, at least 5');
  if (soakMinutes > 0 && soakMinutes * 60 < intervalS * 3) throw new UsageError('the soak needs at least three intervals');
  return { streams, soakMinutes, intervalS };
}

// ---- the processes ----------------------------------------------------------------------------------------------

interface ProcMemory {
  /** Resident set now, bytes. */
  rss: number;
  /** Peak resident set since the process started, bytes. */
  hwm: number;
}

function procMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** The example config with a slow simulator added to its model list (the list is the file's last section). */
function benchConfig(sim: number, busySim: number): string {
  const example = readFileSync(join(ROOT, 'config', 'proxy.example.yaml'), 'utf8');
  return `${example.trimEnd()}

  - model_name: sim-slow
    litellm_params: { model: openai/sim-slow, api_base: http://127.0.0.1:${sim} }
  - model_name: busy
    litellm_params: { model: openai/busy, api_base: http://127.0.0.1:${busySim} }
`;
}

async function startSim(procs: Processes, name: string, port: number, extra: readonly string[]): Promise<void> {
  const sim = procs.start(name, NODE, ['test/sim/cli.ts', '--kind', 'openai', '--port', String(port), ...extra], 1, ROOT);
  await waitForOutput(sim, /^listening /m, START_TIMEOUT_MS);
}

async function startGateway(procs: Processes, config: string, port: number, cacheDir: string): Promise<Child> {
  // Node reads NODE_COMPILE_CACHE when the entry point turns the cache on: a directory of the bench's own, so the
  // first start is cold whatever ran before.
  process.env['NODE_COMPILE_CACHE'] = cacheDir;
  const gateway = procs.start('sluice', NODE, ['core/main.js', '--config', config, '--port', String(port), '--host', '127.0.0.1'], 0, ROOT);
  await waitForHttp(gateway, `http://127.0.0.1:${port}/health/liveliness`, START_TIMEOUT_MS);
  return gateway;
}

async function stop(gateway: Child): Promise<void> {
  gateway.proc.kill('SIGTERM');
  await gateway.exited;
}

// ---- the streams ------------------------------------------------------------------------------------------------

const chatBody = (model: string, stream: boolean): string =>
  JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'Tell me a long story about rivers.' }] });

interface HeldStream {
  /** Resolves at the first chunk of the answer (or rejects on an error or a non-200). */
  readonly started: Promise<void>;
  /** Resolves when the answer has ended or the stream was dropped. */
  readonly ended: Promise<void>;
  drop(): void;
}

function openStream(url: string, agent: Agent): HeldStream {
  const body = chatBody('sim-slow', true);
  let started!: () => void;
  let failed!: (error: Error) => void;
  let ended!: () => void;
  const startedPromise = new Promise<void>((res, rej) => ((started = res), (failed = rej)));
  const endedPromise = new Promise<void>((res) => (ended = res));
  const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
  req.on('error', (error) => {
    failed(error);
    ended();
  });
  req.on('response', (res: IncomingMessage) => {
    if (res.statusCode !== 200) failed(new Error(`status ${res.statusCode}`));
    res.once('data', () => started());
    res.on('data', () => {});
    res.on('close', () => {
      failed(new Error('closed before its first chunk'));
      ended();
    });
  });
  req.end(body);
  return { started: startedPromise, ended: endedPromise, drop: () => req.destroy() };
}

// ---- the soak ---------------------------------------------------------------------------------------------------

type Shot = 'json' | 'stream' | 'abort mid-stream' | 'backend 429' | 'unknown model';
const SHOTS: readonly [Shot, number][] = [
  ['json', 35],
  ['stream', 30],
  ['abort mid-stream', 15],
  ['backend 429', 10],
  ['unknown model', 10],
];

function pickShot(): Shot {
  let draw = Math.random() * 100;
  for (const [shot, weight] of SHOTS) if ((draw -= weight) < 0) return shot;
  return 'json';
}

/** One soak request; resolves to its outcome (a status, `aborted` or `error`), never rejects. */
function soakRequest(url: string, agent: Agent, shot: Shot): Promise<string> {
  const model = shot === 'backend 429' ? 'busy' : shot === 'unknown model' ? 'no-such-model' : 'mock-gpt';
  const body = chatBody(model, shot === 'stream' || shot === 'abort mid-stream');
  return new Promise((done) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    const timer = setTimeout(() => req.destroy(new Error('timeout')), 30_000);
    const finish = (outcome: string): void => {
      clearTimeout(timer);
      done(outcome);
    };
    req.on('error', () => finish('error'));
    req.on('response', (res) => {
      if (shot === 'abort mid-stream' && res.statusCode === 200) {
        res.once('data', () => {
          req.destroy();
          finish('aborted');
        });
        return;
      }
      res.resume();
      res.on('end', () => finish(String(res.statusCode)));
    });
    req.end(body);
  });
}

// ---- the run ----------------------------------------------------------------------------------------------------

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;
const say = (line: string): boolean => process.stdout.write(line + '\n');

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
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-memory-'));
  const procs = new Processes(false);
  const onExit = (): void => procs.killAllNow();
  process.on('exit', onExit);
  try {
    const [port, sim, busySim] = await Promise.all([freePort(), freePort(), freePort()]);
    await Promise.all([
      startSim(procs, 'simulator (slow)', sim, ['--chunk-interval-ms', String(CHUNK_INTERVAL_MS), '--tokens', String(STREAM_TOKENS)]),
      startSim(procs, 'simulator (429)', busySim, ['--status', '429']),
    ]);
    const config = join(tmp, 'sluice.yaml');
    writeFileSync(config, benchConfig(sim, busySim));
    const cacheDir = join(tmp, 'compile-cache');

    // Idle: a cold start, then a warm one, which the rest of the run uses.
    const cold = await startGateway(procs, config, port, cacheDir);
    await sleep(SETTLE_MS);
    const coldIdle = procMemory(cold.proc.pid!);
    await stop(cold);
    const gateway = await startGateway(procs, config, port, cacheDir);
    const pid = gateway.proc.pid!;
    await sleep(SETTLE_MS);
    const idle = procMemory(pid);
    say(`idle, first start (compile cache cold): rss ${mb(coldIdle.rss)}, peak ${mb(coldIdle.hwm)}`);
    say(`idle (compile cache warm):              rss ${mb(idle.rss)}, peak ${mb(idle.hwm)}`);

    // Streams held open.
    const url = `http://127.0.0.1:${port}/v1/chat/completions`;
    const agent = new Agent({ keepAlive: true, maxSockets: options.streams });
    const streams = Array.from({ length: options.streams }, () => openStream(url, agent));
    const starts = await Promise.allSettled(streams.map((s) => s.started));
    const open = starts.filter((s) => s.status === 'fulfilled').length;
    const held = procMemory(pid);
    await sleep(2_000);
    const heldLater = procMemory(pid);
    say(`${open} of ${options.streams} streams open: rss ${mb(held.rss)}, ${mb(heldLater.rss)} two seconds later; peak so far ${mb(heldLater.hwm)}`);
    const failures = starts.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []));
    if (failures.length > 0) say(`  failed to open: ${[...new Set(failures)].slice(0, 3).join('; ')}`);
    for (const s of streams) s.drop();
    await Promise.all(streams.map((s) => s.ended));
    agent.destroy();
    await sleep(SETTLE_MS);
    const after = procMemory(pid);
    say(`after the streams ended: rss ${mb(after.rss)}, peak ${mb(after.hwm)}`);
    say(`ratios: idle ${(idle.rss / 1048576 / 80).toFixed(2)} of 80 MB; ${options.streams} streams ${(Math.max(held.rss, heldLater.rss) / 1048576 / 150).toFixed(2)} of 150 MB`);

    if (options.soakMinutes > 0) {
      const soakAgent = new Agent({ keepAlive: true, maxSockets: 20 });
      const intervals = Math.floor((options.soakMinutes * 60) / options.intervalS);
      const stopAt = Date.now() + intervals * options.intervalS * 1000;
      let tally = new Map<string, number>();
      const loop = async (): Promise<void> => {
        while (Date.now() < stopAt) {
          const outcome = `${await soakRequest(url, soakAgent, pickShot())}`;
          tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
        }
      };
      say(`soak: ${intervals} x ${options.intervalS} s, 20 clients, ${SHOTS.map(([s, w]) => `${s} ${w}%`).join(', ')}`);
      const clients = Array.from({ length: 20 }, loop);
      const readings: number[] = [];
      for (let i = 1; i <= intervals; i++) {
        await sleep(stopAt - (intervals - i) * options.intervalS * 1000 - Date.now());
        if (!gateway.running) throw new Error(`sluice exited during the soak (${gateway.exitReason ?? '?'})`);
        const seen = tally;
        tally = new Map();
        const { rss } = procMemory(pid);
        readings.push(rss);
        const outcomes = [...seen.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
        say(`[${String(i).padStart(2)}] rss ${mb(rss)} (${outcomes})`);
      }
      await Promise.all(clients);
      soakAgent.destroy();
      const base = readings[1]!;
      const last = readings[readings.length - 1]!;
      const peak = procMemory(pid).hwm;
      say(`soak: rss x${(last / base).toFixed(3)} from interval 2 to ${readings.length} (${((100 * (last - base)) / base).toFixed(1)}%); peak ${mb(peak)}`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`memory bench failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await procs.stopAll();
    process.off('exit', onExit);
    rmSync(tmp, { recursive: true, force: true });
  }
}

process.exitCode = await main();
