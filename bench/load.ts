// Load benchmark: Sluice against a direct call to the backend simulator and against nginx, on one machine.
//
//   npm run bench:load [-- --duration 8 --rounds 3 --loadgen wrk|autocannon]
//   npm run bench:load -- --chain custom [--backends 1 --strategy <name> --auth memory|redis --guards]
//
// By default Sluice runs the full chain a deployment runs (issue 16): a master key, a virtual key with rpm, tpm and
// concurrency limits (far above what the bench sends, so every request is counted and none refused), least-busy over
// two backends, active health checks and the Prometheus metrics plugin. That is the `via Sluice` row every ratio
// uses. A second Sluice with no keys and the default chain (`Sluice, no keys`) shows in the throughput section what
// the chain costs. A bare proxy (bench/load/bare-node-proxy.ts: Sluice's node:http listener and raw upstream client,
// round-robin, nothing between them) runs the same workloads and is checked against the same targets, for
// comparison: what Node and those two ends reach against nginx on this machine in this run, before gateway work. The run ends with a compact table of ratios against nginx,
// ready to paste.
//
// --chain custom builds the config from the flags instead: --backends n puts n simulators behind each model group
// (`sim`, and `sim-stream` for SSE), in Sluice and in one nginx upstream (round-robin); the direct baseline stays
// one simulator. --strategy names Sluice's routing plugin (an id like route.least_busy or an alias like least-busy),
// written as `plugins: [<name>]`; without it the config has no `plugins:` section and Sluice's default chain applies.
//
// The proxy under test (Sluice, nginx or the bare proxy) gets core 0; the simulators, the load generator and this process (which
// runs the SSE client) share core 1. Configurations are interleaved in every round so drift hits them all alike,
// and the report gives medians over rounds. Each measurement is bracketed by a probe of both cores' speed
// (bench/load/core-speed.ts): one during which the host slowed a core is taken again, up to twice, and the report
// says how often that happened. Exit code 0 whatever the figures; 1 when a process failed.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Autocannon, BENCH_KEY, Wrk, type LoadGen } from './load/loadgen.ts';
import { FULL_CHAIN_SECTIONS } from './load/chain.ts';
import { CoreSpeedProbe, SLOWED_BELOW, isSlowed, slower, type CoreTimes } from './load/core-speed.ts';
import { nginxConf, type NginxRoute } from './load/nginx.ts';
import { Processes, cpuSeconds, findBinary, freePort, pinSelf, sleep, waitForHttp, waitForOutput, type Child } from './load/procs.ts';
import {
  latencySection,
  med,
  ms,
  pasteTable,
  ratio,
  signedMs,
  sseSection,
  targetsSection,
  throughputSection,
  type Check,
  type HttpResult,
  type RoundResults,
  type SseTarget,
  type Target,
} from './load/report.ts';
import { runSse, type SseResult } from './load/sse.ts';
import { median } from './load/stats.ts';
import { BUILTIN_PLUGINS, PLUGIN_ALIASES } from '../plugins/standard.ts';

const ROOT = resolve(import.meta.dirname, '..');
/** Read before this process pins itself: afterwards the count is that of its affinity mask. */
const CORES = availableParallelism();
const NODE = process.execPath;
const START_TIMEOUT_MS = 20_000;
/** Every backend is two simulator processes (JSON and SSE) on core 1; more than this only measures contention. */
const MAX_BACKENDS = 16;
/** Quiet gap between measurements, so one run's closing sockets and GC do not land in the next. */
const PAUSE_MS = 500;
/** How often a measurement taken while a core ran slowed is taken again before it is kept as it is. */
const MAX_REPEATS = 2;

const THROUGHPUT_CONNECTIONS = 64;
const SSE_STREAMS = 50;
const SSE_SIM_ARGS = ['--stamp', '--chunk-interval-ms', '20', '--tokens', '50'];
const chatBody = (model: string): string => JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] });

/** Issue 16's targets, all against nginx in the same run. */
const TARGETS_PLAN = {
  /** req/s at 64 connections, as a share of nginx's. */
  minThroughputVsNginx: 0.8,
  /** p99 at 64 connections, as a multiple of nginx's. */
  maxP99VsNginx: 1.5,
  /** p50 at 1 connection, ms over nginx's. */
  maxP50OverNginxMs: 0.1,
} as const;

/** Why "added" at 1 connection is more than the proxy's own cost when pinned. */
const SAME_CORE_NOTE = [
  '(direct: client and simulator share core 1, so no request crosses cores; through a proxy on core 0 each one',
  ' crosses twice each way, and that wake-up cost is part of "added". Sluice - nginx compares like with like.)',
];

/** The run cannot go on (a process failed to start or died, no load generator): printed without a stack. */
class Failure extends Error {}

class UsageError extends Error {}

interface Options {
  /** `full`: issue 16's chain (the default); `custom`: built from --backends, --strategy, --auth, --guards. */
  chain: 'full' | 'custom';
  durationS: number;
  rounds: number;
  loadgen: 'wrk' | 'autocannon' | null;
  /** Simulators behind each model group (and each nginx upstream); 2 for the full chain unless given. */
  backends: number;
  /** Sluice's routing plugin as given (id or alias); null: no `plugins:` section, the default chain. */
  strategy: string | null;
  /** Put API keys and a per-key limit in Sluice's chain, counted in memory or in a redis-server; null: none. */
  auth: 'memory' | 'redis' | null;
  /** An `llm_guard:` section: three input and two output guards on every request. */
  guards: boolean;
}

interface Environment {
  pinned: boolean;
  notes: string[];
  nginx: string | null;
  loadgen: LoadGen;
}

/** Where each configuration is reached, for the JSON and the SSE workloads. */
interface Stack {
  json: Partial<Record<Target, string>>;
  sse: Partial<Record<Target, string>>;
  /** The model to ask for, per target (Sluice routes by it; the simulator echoes it). */
  jsonModel: Record<Target, string>;
  sseModel: Record<SseTarget, string>;
  /** The proxies' process ids, for their CPU time per request. */
  pids: Partial<Record<Target, number>>;
  /** With several backends, every SSE simulator's URL (for the clock check); empty with one. */
  sseSims: string[];
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '3' },
      loadgen: { type: 'string' },
      chain: { type: 'string' },
      backends: { type: 'string' },
      strategy: { type: 'string' },
      auth: { type: 'string' },
      guards: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const durationS = Number(values.duration);
  const rounds = Number(values.rounds);
  // wrk takes whole seconds; the caps keep a typo from running for hours.
  if (!Number.isInteger(durationS) || durationS < 1 || durationS > 300) throw new UsageError('--duration wants whole seconds, 1..300');
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new UsageError('--rounds wants an integer, 1..20');
  const loadgen = values.loadgen;
  if (loadgen !== undefined && loadgen !== 'wrk' && loadgen !== 'autocannon') throw new UsageError('--loadgen is wrk or autocannon');
  const customized = values.strategy !== undefined || values.auth !== undefined || values.guards === true;
  const chain = values.chain ?? (customized ? 'custom' : 'full');
  if (chain !== 'full' && chain !== 'custom') throw new UsageError('--chain is full or custom');
  if (chain === 'full' && customized) throw new UsageError('--strategy, --auth and --guards build a custom chain: drop --chain full');
  const backends = Number(values.backends ?? (chain === 'full' ? 2 : 1));
  if (!Number.isInteger(backends) || backends < 1 || backends > MAX_BACKENDS) throw new UsageError(`--backends wants an integer, 1..${MAX_BACKENDS}`);
  const strategy = values.strategy ?? null;
  if (strategy !== null) checkStrategy(strategy);
  const auth = values.auth ?? null;
  if (auth !== null && auth !== 'memory' && auth !== 'redis') throw new UsageError('--auth is memory or redis');
  return { chain, durationS, rounds, loadgen: loadgen ?? null, backends, strategy, auth, guards: values.guards === true };
}

/** A routing plugin Sluice knows, by id or alias; caught here rather than as a failed Sluice start. */
function checkStrategy(name: string): void {
  const id = PLUGIN_ALIASES[name] ?? name;
  if (id.startsWith('route.') && id in BUILTIN_PLUGINS) return;
  const known = Object.keys(BUILTIN_PLUGINS).filter((k) => k.startsWith('route.'));
  const aliases = Object.keys(PLUGIN_ALIASES).filter((a) => PLUGIN_ALIASES[a]!.startsWith('route.'));
  throw new UsageError(`--strategy wants a routing plugin: ${[...known, ...aliases].join(', ')}`);
}

/** Pins this process to core 1 when taskset works; otherwise everything runs unpinned (and the report says so). */
function detectPinning(notes: string[]): boolean {
  if (findBinary('taskset') === null) notes.push('taskset not found: processes run unpinned, so proxy and load generator compete for cores');
  else if (CORES < 2) notes.push('fewer than 2 cores: processes run unpinned');
  else if (!pinSelf(1)) notes.push('taskset could not set this process affinity: processes run unpinned');
  else return true;
  return false;
}

/** nginx and the load generator: use what is installed, and say what is missing. */
function detectTools(options: Options, procs: Processes, tmp: string, notes: string[]): { nginx: string | null; loadgen: LoadGen } {
  const nginx = findBinary('nginx', ['/usr/sbin', '/usr/local/sbin']);
  if (nginx === null) notes.push('nginx not installed: the nginx rows and the throughput-vs-nginx target are skipped');
  const wrk = options.loadgen === 'autocannon' ? null : findBinary('wrk');
  if (wrk !== null) return { nginx, loadgen: new Wrk(wrk, procs, tmp) };
  if (options.loadgen !== 'autocannon') notes.push('wrk not installed: using autocannon (in this process, on core 1)');
  const autocannon = Autocannon.load();
  if (autocannon === null) throw new Failure('neither wrk nor autocannon is available: apt-get install wrk, or npm i -D autocannon');
  return { nginx, loadgen: autocannon };
}

async function startSim(procs: Processes, name: string, port: number, extra: readonly string[]): Promise<Child> {
  const sim = procs.start(name, NODE, ['test/sim/cli.ts', '--kind', 'openai', '--port', String(port), ...extra], 1, ROOT);
  await waitForOutput(sim, /^listening /m, START_TIMEOUT_MS).catch(startFailure(sim));
  return sim;
}

/** The simulator ports, one per backend; [0] is also the direct baseline. */
interface SimPorts {
  json: number[];
  sse: number[];
}

/** One simulator per backend for each workload, all on core 1; with one backend, the names of old. */
async function startSims(procs: Processes, ports: SimPorts): Promise<void> {
  const n = ports.json.length;
  const name = (base: string, i: number): string => (n === 1 ? base : `${base} ${i + 1}/${n}`);
  await Promise.all([
    ...ports.json.map((port, i) => startSim(procs, name('simulator', i), port, [])),
    ...ports.sse.map((port, i) => startSim(procs, name('simulator (SSE)', i), port, SSE_SIM_ARGS)),
  ]);
}

/**
 * Sluice's config: `sim` and `sim-stream` with one deployment per simulator, `mock` with no backend. `plugins:`
 * only with a strategy; with one backend and none, exactly the config of the single-backend benchmark.
 */
/**
 * With --auth: one key with a per-key request limit far above what the bench sends, so every request pays for the
 * key check and a counted limit without being refused. Keys switch on `auth.api_key` and `limit.key` in the
 * default chain; with --strategy they are listed explicitly.
 */
function authSection(auth: 'memory' | 'redis' | null, redisPort: number | null): string {
  if (auth === null) return '';
  const redis = auth === 'redis' ? `redis: { host: 127.0.0.1, port: ${redisPort}, fail_mode: fail_closed }\n` : '';
  return `${redis}keys: [{ key: ${BENCH_KEY}, alias: bench, rpm: 1000000000, max_parallel_requests: 100000 }]\n`;
}

/** --guards: LiteLLM's llm_guard section, so the bench also loads it the way teams write it. */
const GUARDS_SECTION = `llm_guard:
  enabled: true
  input_scanning: { enabled: true, scanners: [PromptInjection, Secrets, Toxicity] }
  output_scanning: { enabled: true, scanners: [Toxicity, NoRefusal] }
`;

/** `plugins:` for a custom chain: only with a strategy (keys then listed before it). */
function customPlugins(strategy: string | null, auth: boolean): string {
  if (strategy === null) return '';
  return `plugins: [${auth ? 'auth.api_key, limit.key, ' : ''}${JSON.stringify(strategy)}]\n`;
}

/** Sluice's config: `sections` (keys, plugins) then `sim` and `sim-stream` with one deployment per simulator, and `mock` with no backend. */
function sluiceConfig(port: number, sims: SimPorts, sections: string): string {
  const n = sims.json.length;
  // Explicit ids only with several backends, so errors and logs say which one.
  const id = (group: string, i: number): string => (n === 1 ? '' : `\n    model_info: { id: ${group}-${i + 1} }`);
  const deployments = (group: string, ports: readonly number[]): string =>
    ports
      .map((p, i) => `  - model_name: ${group}\n    litellm_params: { model: openai/${group}, api_base: http://127.0.0.1:${p} }${id(group, i)}\n`)
      .join('');
  return (
    `server: { host: 127.0.0.1, port: ${port}, log_level: warn }\n` +
    sections +
    'model_list:\n' +
    deployments('sim', sims.json) +
    deployments('sim-stream', sims.sse) +
    '  - model_name: mock\n' +
    '    litellm_params: { model: mock/mock, mock_response: "hello world from the mock", mock_tokens: 20 }\n'
  );
}

/** The config sections of the Sluice under test (`via Sluice`). */
function sectionsUnderTest(options: Options, redisPort: number | null): string {
  if (options.chain === 'full') return FULL_CHAIN_SECTIONS;
  return authSection(options.auth, redisPort) + customPlugins(options.strategy, options.auth !== null) + (options.guards ? GUARDS_SECTION : '');
}

/** One Sluice process on core 0; its pid once it answers. */
async function startSluice(procs: Processes, tmp: string, name: string, port: number, config: string): Promise<number> {
  const path = join(tmp, `${name.replace(/\W+/g, '-')}.yaml`);
  writeFileSync(path, config);
  const args = ['core/main.js', '--config', path, '--port', String(port), '--host', '127.0.0.1'];
  const sluice = procs.start(name, NODE, args, 0, ROOT);
  // At log_level warn the "listening on" line is not printed, so readiness is polled.
  await waitForHttp(sluice, `http://127.0.0.1:${port}/health/readiness`, START_TIMEOUT_MS).catch(startFailure(sluice));
  return sluice.proc.pid!;
}

async function startNginx(procs: Processes, binary: string, tmp: string, routes: readonly NginxRoute[]): Promise<number> {
  const dir = join(tmp, 'nginx');
  writeFileSync(join(tmp, 'nginx.conf'), nginxConf(dir, routes));
  // -e: the log for messages before the config is read (it would go to /var/log/nginx otherwise).
  const nginx = procs.start('nginx', binary, ['-p', tmp, '-c', join(tmp, 'nginx.conf'), '-e', join(dir, 'startup.log')], 0, tmp);
  await waitForHttp(nginx, `http://127.0.0.1:${routes[0]!.listenPort}/health`, START_TIMEOUT_MS).catch(startFailure(nginx));
  return nginx.proc.pid!;
}

/** bench/load/bare-node-proxy.ts on core 0, one port per route like nginx's; its pid once it answers. */
async function startBareNode(procs: Processes, routes: readonly NginxRoute[]): Promise<number> {
  const listen = routes.flatMap((r) => ['--listen', `${r.listenPort}:${r.upstreamPorts.join(',')}`]);
  const proxy = procs.start('bare proxy', NODE, ['bench/load/bare-node-proxy.ts', ...listen], 0, ROOT);
  // Any answer the simulator gives through it (its 404 for this path) shows the proxy forwards.
  await waitForHttp(proxy, `http://127.0.0.1:${routes[0]!.listenPort}/health`, START_TIMEOUT_MS).catch(startFailure(proxy));
  return proxy.proc.pid!;
}

function startFailure(child: Child): (error: Error) => never {
  return (error) => {
    throw new Failure(`${error.message}\n--- ${child.name} output ---\n${child.output || '(none)'}`);
  };
}

async function startStack(procs: Processes, tmp: string, nginx: string | null, options: Options): Promise<Stack> {
  const ports = (count: number): Promise<number[]> => Promise.all(Array.from({ length: count }, freePort));
  const [simJsonPorts, simSsePorts, [sluice, sluiceBare, nginxJson, nginxSse, nodeJson, nodeSse]] = await Promise.all([
    ports(options.backends),
    ports(options.backends),
    ports(6),
  ]);
  const sims: SimPorts = { json: simJsonPorts, sse: simSsePorts };
  // The direct baseline is always one simulator: the first of each workload.
  const simJson = sims.json[0]!;
  const simSse = sims.sse[0]!;
  await startSims(procs, sims);
  let redisPort: number | null = null;
  if (options.auth === 'redis') {
    redisPort = await freePort();
    const redis = procs.start('redis', findBinary('redis-server') ?? '/usr/bin/redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], 1, ROOT);
    await waitForOutput(redis, /Ready to accept connections/, 10_000);
  }
  const pids: Partial<Record<Target, number>> = {};
  pids.sluice = pids['sluice-mock'] = await startSluice(procs, tmp, 'sluice', sluice, sluiceConfig(sluice, sims, sectionsUnderTest(options, redisPort)));
  // The full chain's cost shows against the same Sluice with no keys and the default chain.
  if (options.chain === 'full') pids['sluice-bare'] = await startSluice(procs, tmp, 'sluice (no keys)', sluiceBare, sluiceConfig(sluiceBare, sims, ''));
  pids['node-bare'] = await startBareNode(procs, [
    { listenPort: nodeJson, upstreamPorts: sims.json },
    { listenPort: nodeSse, upstreamPorts: sims.sse },
  ]);
  if (nginx !== null) {
    pids.nginx = await startNginx(procs, nginx, tmp, [
      { listenPort: nginxJson, upstreamPorts: sims.json },
      { listenPort: nginxSse, upstreamPorts: sims.sse },
    ]);
  }
  const url = (port: number): string => `http://127.0.0.1:${port}/v1/chat/completions`;
  const withNginx = <T>(value: T): { nginx?: T } => (nginx === null ? {} : { nginx: value });
  const withBare = <T>(value: T): { 'sluice-bare'?: T } => (options.chain === 'full' ? { 'sluice-bare': value } : {});
  return {
    json: {
      direct: url(simJson),
      ...withNginx(url(nginxJson)),
      'node-bare': url(nodeJson),
      sluice: url(sluice),
      ...withBare(url(sluiceBare)),
      'sluice-mock': url(sluice),
    },
    sse: { direct: url(simSse), ...withNginx(url(nginxSse)), 'node-bare': url(nodeSse), sluice: url(sluice) },
    jsonModel: { direct: 'sim', nginx: 'sim', 'node-bare': 'sim', sluice: 'sim', 'sluice-bare': 'sim', 'sluice-mock': 'mock' },
    // Same body everywhere; the group name equals the upstream model, so Sluice forwards the client's bytes as is.
    sseModel: { direct: 'sim-stream', nginx: 'sim-stream', 'node-bare': 'sim-stream', sluice: 'sim-stream' },
    sseSims: sims.sse.length === 1 ? [] : sims.sse.map(url),
    pids,
  };
}

/** Fails the run if a service died: later figures would be measuring a connection refused. */
function assertAlive(procs: Processes): void {
  const dead = procs.firstDead();
  if (dead !== undefined) {
    throw new Failure(`${dead.name} exited during the run (${dead.exitReason ?? '?'})\n--- ${dead.name} output ---\n${dead.output || '(none)'}`);
  }
}

function push<R>(results: RoundResults<R>, target: Target, result: R): void {
  const list = results.get(target);
  if (list === undefined) results.set(target, [result]);
  else list.push(result);
}

const progress = (line: string): boolean => process.stderr.write(line + '\n');

interface Measured {
  throughput: RoundResults<HttpResult>;
  latency: RoundResults<HttpResult>;
  sse: RoundResults<SseResult>;
  /** Per SSE simulator, one direct wave's p50 per round (several backends only). */
  simClock: number[][];
  /** Every kept measurement's core probes (the slower of before and after), and how often it was taken again. */
  steadiness: Steadiness[];
}

interface Steadiness {
  readonly times: CoreTimes | null;
  readonly repeats: number;
}

/** What one pass over the configurations needs. */
interface Pass {
  readonly stack: Stack;
  readonly loadgen: LoadGen;
  readonly procs: Processes;
  readonly durationS: number;
  /** A warm-up pass runs one SSE wave and records nothing worth reporting. */
  readonly warmup: boolean;
  readonly label: string;
  readonly probe: CoreSpeedProbe;
  /** Where kept measurements' probes go (not the warm-up's). */
  readonly steadiness: Steadiness[];
}

/**
 * Runs `measure` between two probes of the cores' speed, and again (up to MAX_REPEATS times) when a probe found a
 * core below SLOWED_BELOW of its best: a proxy measured while the host slowed its core (or the load generator's) is
 * not compared with one measured at full speed. A slowed core is waited for (up to RECOVERY_WAIT_MS) before each
 * measurement. The warm-up neither waits nor repeats.
 */
async function steadily<R>(pass: Pass, what: string, measure: () => Promise<R>): Promise<R> {
  for (let repeats = 0; ; repeats++) {
    // The probe after the last measurement serves as this one's first; a repeat probes afresh.
    const latest = repeats === 0 ? pass.probe.recent(PAUSE_MS * 3) : pass.probe.probe();
    const before = pass.warmup ? latest : await untilSpeedBack(pass, what, latest);
    const result = await measure();
    const times = slower(before, pass.probe.probe());
    const speeds = times === null ? null : pass.probe.speeds(times);
    if (pass.warmup || speeds === null || !isSlowed(speeds) || repeats >= MAX_REPEATS) {
      if (!pass.warmup) pass.steadiness.push({ times, repeats });
      return result;
    }
    progress(`${pass.label} ${what}: to be taken again, a core ran slowed (proxy core at ${share(speeds.proxyCore)}, load core at ${share(speeds.loadCore)} of its best)`);
  }
}

/** How long a measurement waits for a slowed core to come back to speed before it is taken anyway. */
const RECOVERY_WAIT_MS = 30_000;

/** Probes again, from `latest` on, until neither core is slowed or RECOVERY_WAIT_MS have passed. */
async function untilSpeedBack(pass: Pass, what: string, latest: CoreTimes | null): Promise<CoreTimes | null> {
  const deadline = performance.now() + RECOVERY_WAIT_MS;
  let times = latest;
  let said = false;
  while (times !== null && isSlowed(pass.probe.speeds(times)) && performance.now() < deadline) {
    if (!said) progress(`${pass.label} ${what}: waiting for a slowed core (up to ${RECOVERY_WAIT_MS / 1000} s)`);
    said = true;
    await sleep(2000);
    times = pass.probe.probe();
  }
  return times;
}

const share = (x: number): string => `${Math.round(x * 100)}%`;

/**
 * One HTTP workload over `targets`, one after the other. The proxy's CPU time over the run, per request, is less
 * sensitive to a busy machine than req/s: it is what the proxy spent, not what it was given.
 */
async function httpSection(pass: Pass, section: string, targets: readonly Target[], connections: number, results: RoundResults<HttpResult>): Promise<void> {
  for (const t of targets) {
    const body = chatBody(pass.stack.jsonModel[t]);
    const pid = pass.stack.pids[t];
    const result = await steadily(pass, `${section} ${t}`, async (): Promise<HttpResult> => {
      const cpuBefore = pid === undefined ? Number.NaN : cpuSeconds(pid);
      const load = await pass.loadgen.run({ url: pass.stack.json[t]!, body, connections, durationS: pass.durationS });
      const cpuUs = pid === undefined ? Number.NaN : ((cpuSeconds(pid) - cpuBefore) * 1e6) / load.requests;
      return { ...load, cpuUsPerRequest: cpuUs };
    });
    const cpuUs = result.cpuUsPerRequest;
    assertAlive(pass.procs);
    push(results, t, result);
    const cpu = Number.isFinite(cpuUs) ? `, proxy CPU ${cpuUs.toFixed(1)} µs/req` : '';
    progress(`${pass.label} ${section} ${t}: ${Math.round(result.rps)} req/s, p50 ${result.p50Ms.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms, errors ${result.errors}${cpu}`);
    await sleep(PAUSE_MS);
  }
}

/** The SSE workload over every target that has a stream route. */
async function sseSectionRun(pass: Pass, results: RoundResults<SseResult>): Promise<void> {
  for (const t of SSE_TARGETS) {
    const url = pass.stack.sse[t];
    if (url === undefined) continue;
    // Duration 0 runs exactly one wave.
    const durationMs = pass.warmup ? 0 : pass.durationS * 1000;
    const result = await steadily(pass, `C ${t}`, () => runSse({ url, model: pass.stack.sseModel[t], streams: SSE_STREAMS, durationMs }));
    assertAlive(pass.procs);
    push(results, t, result);
    progress(`${pass.label} C ${t}: ${result.chunks} chunks, p50 ${result.p50Ms.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms, streams failed ${result.streamsFailed}`);
    await sleep(PAUSE_MS);
  }
}

const JSON_TARGETS = ['direct', 'nginx', 'node-bare', 'sluice', 'sluice-bare', 'sluice-mock'] as const;
const SSE_TARGETS = ['direct', 'nginx', 'node-bare', 'sluice'] as const;

/** Every section over every configuration, in a fixed order, so drift between rounds hits all alike. */
async function runPass(pass: Pass, out: Measured): Promise<void> {
  const json = JSON_TARGETS.filter((t) => pass.stack.json[t] !== undefined);
  await httpSection(pass, 'A', json, THROUGHPUT_CONNECTIONS, out.throughput);
  await httpSection(pass, 'B', json.filter((t) => t !== 'sluice-mock' && t !== 'sluice-bare'), 1, out.latency);
  await sseSectionRun(pass, out.sse);
  if (!pass.warmup) await simClockRun(pass, out.simClock);
}

/**
 * The SSE delay subtracts the simulator's clock from the client's, and each process has its own offset
 * (performance.timeOrigin is read at its start). Direct uses simulator 1 only, the proxies mix all of them: one
 * direct wave to each simulator shows how far apart their offsets are, and so how much of "added" they can explain.
 */
async function simClockRun(pass: Pass, out: number[][]): Promise<void> {
  for (const [i, url] of pass.stack.sseSims.entries()) {
    const result = await runSse({ url, model: pass.stack.sseModel.direct, streams: SSE_STREAMS, durationMs: 0 });
    assertAlive(pass.procs);
    (out[i] ??= []).push(result.p50Ms);
    progress(`${pass.label} C clock check, simulator (SSE) ${i + 1}: p50 ${result.p50Ms.toFixed(3)} ms, streams failed ${result.streamsFailed}`);
    await sleep(PAUSE_MS);
  }
}

/** The clock check's line for the SSE section: each simulator's median p50 and their spread. */
function simClockNote(simClock: readonly number[][]): string[] {
  if (simClock.length === 0) return [];
  const p50s = simClock.map((rounds) => median(rounds));
  const spread = Math.max(...p50s) - Math.min(...p50s);
  return [
    `  clock check (one direct wave per SSE simulator per round, median p50): ` +
      p50s.map((v, i) => `sim ${i + 1} ${v.toFixed(3)}`).join(', ') +
      ` ms; spread ${spread.toFixed(3)} ms`,
    `  (direct is simulator 1 alone, the proxies spread over all ${p50s.length}: clock offsets up to the spread can appear in "added")`,
  ];
}

async function measure(stack: Stack, loadgen: LoadGen, procs: Processes, options: Options, probe: CoreSpeedProbe): Promise<Measured> {
  const steadiness: Steadiness[] = [];
  const common = { stack, loadgen, procs, probe, steadiness };
  // Warm-up: JIT, connection pools and the kernel's caches, for every path, before anything counts.
  const warm: Pass = { ...common, durationS: Math.min(2, options.durationS), warmup: true, label: '[warm-up]' };
  await runPass(warm, { throughput: new Map(), latency: new Map(), sse: new Map(), simClock: [], steadiness: [] });
  const out: Measured = { throughput: new Map(), latency: new Map(), sse: new Map(), simClock: [], steadiness };
  for (let r = 1; r <= options.rounds; r++) {
    await runPass({ ...common, durationS: options.durationS, warmup: false, label: `[round ${r}/${options.rounds}]` }, out);
  }
  return out;
}

/** Issue 16's targets for `who` (Sluice, or the bare proxy for comparison), each against nginx from this run; skipped without nginx. */
function checks(m: Measured, haveNginx: boolean, who: Target = 'sluice'): Check[] {
  const p = TARGETS_PLAN;
  const a = (t: Target, pick: (r: HttpResult) => number): number => med(m.throughput, t, pick);
  const b = (t: Target, pick: (r: HttpResult) => number): number => med(m.latency, t, pick);
  const c = (t: Target, pick: (r: SseResult) => number): number => med(m.sse, t, pick);
  const rpsRatio = a(who, (r) => r.rps) / a('nginx', (r) => r.rps);
  const p99Ratio = a(who, (r) => r.p99Ms) / a('nginx', (r) => r.p99Ms);
  const p50Over = b(who, (r) => r.p50Ms) - b('nginx', (r) => r.p50Ms);
  const sseP99 = [c(who, (r) => r.p99Ms), c('nginx', (r) => r.p99Ms)] as const;
  const ttfb = [c(who, (r) => r.ttfbP50Ms), c('nginx', (r) => r.ttfbP50Ms)] as const;
  const check = (label: string, value: string, pass: boolean): Check => (haveNginx ? { label, value, pass } : { label, value: 'no nginx', pass: null });
  return [
    check(`throughput >= ${p.minThroughputVsNginx.toFixed(2)}x nginx (64 connections)`, ratio(rpsRatio), rpsRatio >= p.minThroughputVsNginx),
    check(`p99 <= ${p.maxP99VsNginx.toFixed(2)}x nginx's (64 connections)`, ratio(p99Ratio), p99Ratio <= p.maxP99VsNginx),
    check(`p50 <= nginx's + ${p.maxP50OverNginxMs} ms (1 connection)`, `${signedMs(p50Over)} ms`, p50Over <= p.maxP50OverNginxMs),
    check(`SSE chunk delay p99 <= nginx's`, `${ms(sseP99[0])} vs ${ms(sseP99[1])} ms`, sseP99[0] <= sseP99[1]),
    check(`SSE time to first byte p50 <= nginx's`, `${ms(ttfb[0])} vs ${ms(ttfb[1])} ms`, ttfb[0] <= ttfb[1]),
  ];
}

/** Failed requests make a configuration's figures suspect (an error answer is cheaper than a real one). */
function errorNotes(m: Measured): string[] {
  const notes: string[] = [];
  const total = <R>(results: RoundResults<R>, t: Target, pick: (r: R) => number): number =>
    (results.get(t) ?? []).reduce((sum, r) => sum + pick(r), 0);
  for (const t of JSON_TARGETS) {
    const errors = total(m.throughput, t, (r) => r.errors) + total(m.latency, t, (r) => r.errors);
    const failed = total(m.sse, t, (r) => r.streamsFailed);
    if (errors + failed > 0) notes.push(`WARNING: ${t} had ${errors} failed requests and ${failed} failed streams; its figures are suspect`);
  }
  return notes;
}

/** The config variant under test, for the header. */
function variantLines(options: Options, haveNginx: boolean): string[] {
  const n = options.backends;
  const pool = haveNginx && n > 1 ? `; nginx: one upstream of ${n}, round-robin, keepalive 64` : '';
  if (options.chain === 'full') {
    return [
      `config: full chain - master key, virtual key with rpm + tpm + max_parallel_requests (never reached), route.least_busy over ${n} backend${n === 1 ? '' : 's'}, health.active (10 s), metrics${pool}`,
      "config: 'Sluice, no keys' is a second Sluice with the same model_list and the default chain (no keys, no plugins: section)",
      ...(n > 1 ? ['config: the direct baseline is ONE simulator (the first of each workload), not the pool'] : []),
    ];
  }
  const strategy =
    options.strategy === null
      ? "Sluice's default chain (no plugins: section)"
      : `${options.strategy}${PLUGIN_ALIASES[options.strategy] === undefined ? '' : ` (${PLUGIN_ALIASES[options.strategy]})`}, plugins: [${options.strategy}]`;
  const auth = options.auth === null ? '' : `; auth.api_key + limit.key (per-key rpm and concurrency) counted in ${options.auth === 'redis' ? 'a redis-server (fail_closed)' : 'memory'}`;
  const guards = options.guards ? '; guards: input PromptInjection, Secrets, Toxicity + output Toxicity, NoRefusal (llm_guard section)' : '';
  if (n === 1) return [`config: 1 backend per model group; strategy: ${strategy}${auth}${guards}`];
  return [
    `config: ${n} backends per model group (sim, sim-stream: ${n} + ${n} simulators on core 1); strategy: ${strategy}${auth}${guards}${pool}`,
    'config: the direct baseline is ONE simulator (the first of each workload), not the pool',
  ];
}

/**
 * The cores' speed over the kept measurements, as shares of the best probe of the whole run (so a run that started
 * slowed is judged by its later speed too), and how many measurements were taken again.
 */
function steadinessNote(m: Measured, probe: CoreSpeedProbe): string[] {
  const probed = m.steadiness.filter((s) => s.times !== null);
  if (probed.length === 0) return [];
  const speeds = probed.map((s) => probe.speeds(s.times!));
  const proxy = speeds.map((s) => s.proxyCore);
  const load = speeds.map((s) => s.loadCore);
  const repeated = m.steadiness.filter((s) => s.repeats > 0).length;
  const slowed = speeds.filter(isSlowed).length;
  return [
    `core speed over the ${m.steadiness.length} measurements (share of the run's fastest probe, the slower of the probes before and after): ` +
      `proxy core median ${share(median(proxy))}, lowest ${share(Math.min(...proxy))}; load core median ${share(median(load))}, lowest ${share(Math.min(...load))}`,
    `  ${repeated} measurement${repeated === 1 ? ' was' : 's were'} taken again because a core ran below ${share(SLOWED_BELOW)} of its best; ` +
      `${slowed} kept ${slowed === 1 ? 'is' : 'are'} below it (still slowed after ${MAX_REPEATS} repeats, or judged against a faster probe that came later)`,
  ];
}

function printReport(m: Measured, env: Environment, options: Options, probe: CoreSpeedProbe): void {
  const rounds = `${options.rounds} round${options.rounds === 1 ? '' : 's'}`;
  const per = `${env.loadgen.name}, ${options.durationS} s x ${rounds}, medians over rounds`;
  const lines = [
    '',
    `Sluice load benchmark - node ${process.version}, ${CORES} cores, ` +
      (env.pinned ? 'proxy on core 0; simulators, load generator and SSE client on core 1' : 'UNPINNED'),
    ...variantLines(options, env.nginx !== null),
    ...env.notes.map((n) => `note: ${n}`),
    '',
    throughputSection(m.throughput, `A. Throughput: ${THROUGHPUT_CONNECTIONS} connections, non-streaming chat (${per})`),
    '',
    latencySection(
      m.latency,
      `B. Latency: 1 connection, non-streaming chat (${per}); added = proxy - direct`,
      env.pinned ? SAME_CORE_NOTE : [],
    ),
    '',
    sseSection(
      m.sse,
      `C. SSE: ${SSE_STREAMS} concurrent streams, 50 tokens at 20 ms; per-chunk delay = arrival - sim_sent_at ` +
        `(${options.durationS} s of waves x ${rounds}, medians; chunks and streams are totals)`,
    ),
    ...simClockNote(m.simClock),
    '',
    targetsSection(checks(m, env.nginx !== null)),
    // The same targets for the proxy that does nothing but forward: what Node and Sluice's two ends reach alone.
    targetsSection(checks(m, env.nginx !== null, 'node-bare'), "THE SAME TARGETS FOR THE BARE PROXY (for comparison: Sluice's server and client, nothing between)"),
    ...errorNotes(m),
    ...steadinessNote(m, probe),
    '',
    pasteTable(m, options.chain === 'full' ? 'full chain' : 'custom chain', `${env.loadgen.name}, ${options.durationS} s x ${rounds}, medians`),
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** Stops children and removes the temp dir exactly once, whichever way the run ends. */
function cleanupOnce(procs: () => Processes | null, tmp: string): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () =>
    (done ??= (async () => {
      const killed = (await procs()?.stopAll()) ?? [];
      // A service that ignores SIGTERM would hang a real deployment's restart too: worth saying.
      for (const name of killed) progress(`note: ${name} did not exit within 5 s of SIGTERM and was killed`);
      rmSync(tmp, { recursive: true, force: true });
    })());
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\nusage: node bench/load.ts [--duration <s>] [--rounds <n>] [--loadgen wrk|autocannon] [--chain full|custom] [--backends <n>] [--strategy <name>] [--auth memory|redis] [--guards]\n`);
    return 2;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-load-'));
  let procs: Processes | null = null;
  let interrupted = false;
  const cleanup = cleanupOnce(() => procs, tmp);
  // Ctrl-C: stop the children and the temp dir before leaving; 'exit' is the synchronous last resort.
  const onSignal = (signal: NodeJS.Signals): void => {
    progress(`${signal}: stopping`);
    interrupted = true;
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => {
    procs?.killAllNow();
    rmSync(tmp, { recursive: true, force: true });
  });

  try {
    const notes: string[] = [];
    const pinned = detectPinning(notes);
    const processes = (procs = new Processes(pinned));
    const env: Environment = { pinned, notes, ...detectTools(options, processes, tmp, notes) };
    for (const note of notes) progress(`note: ${note}`);
    const stack = await startStack(processes, tmp, env.nginx, options);
    progress(`started: ${options.backends === 1 ? '' : `${options.backends} + ${options.backends} `}simulators, Sluice${env.nginx === null ? '' : ', nginx'}; load generator ${env.loadgen.name}`);
    const probe = new CoreSpeedProbe(NODE, pinned);
    const measured = await measure(stack, env.loadgen, processes, options, probe);
    printReport(measured, env, options, probe);
    return 0;
  } catch (error) {
    // After Ctrl-C the failures are the children we stopped; the signal handler sets the exit code.
    if (interrupted) return 130;
    progress(`bench:load failed: ${error instanceof Failure ? error.message : ((error as Error).stack ?? String(error))}`);
    return 1;
  } finally {
    await cleanup();
  }
}

process.exitCode = await main();
