// Worker processes: throughput of Sluice with 1 and 2 workers (`server.workers`), and of nginx with 1 and 2
// (`worker_processes`), in front of the same backend simulators, in one run, with the ratios.
//
//   npm run bench:workers [-- --duration 5 --rounds 3 --loadgen wrk|autocannon]
//
// Nothing is pinned: the point is what a second worker buys on this machine, so every process (proxies, two
// simulators, the load generator) shares all cores, as they would on a small host. Two more Sluice rows carry a key
// with rpm and max_parallel_requests limits, so each request pays for its limit checks: in one process from its
// own memory store, with 2 workers over IPC from the primary's (the cost of exact limits across workers).
// Configurations are interleaved in every round so drift hits them all alike; the report gives medians. On a
// machine busy with other work, req/s says more about the neighbours than about the proxy; the CPU time each proxy's
// processes (primary and workers, master and workers) spent per request, from /proc, holds up better. Exit code 0
// whatever the figures; 1 when a process failed.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Autocannon, BENCH_KEY, Wrk, type LoadGen, type LoadResult } from './load/loadgen.ts';
import { nginxConf } from './load/nginx.ts';
import { Processes, findBinary, freePort, sleep, waitForHttp, waitForOutput, type Child } from './load/procs.ts';
import { ratio, table } from './load/report.ts';
import { median } from './load/stats.ts';

const ROOT = resolve(import.meta.dirname, '..');
const NODE = process.execPath;
const START_TIMEOUT_MS = 60_000;
const CONNECTIONS = 64;
const PAUSE_MS = 500;
const BODY = JSON.stringify({ model: 'sim', messages: [{ role: 'user', content: 'hello' }] });

interface Target {
  readonly label: string;
  readonly url: string;
  /** The proxy's top process (Sluice's primary or single process, nginx's master). */
  readonly pid: number;
}

/** CPU time (user + system, in clock ticks) of `pid` and its children, from /proc; 0 where /proc cannot tell. */
function cpuTicks(pid: number): number {
  const own = (p: number): number => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14 and 15 of stat(5) (utime, stime); the slice starts at field 3.
      return Number(fields[11]) + Number(fields[12]);
    } catch {
      return 0;
    }
  };
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // no /proc children list: the top process alone
  }
  return own(pid) + children.reduce((sum, child) => sum + own(child), 0);
}

/** Clock ticks per second for /proc's CPU times (USER_HZ: 100 on Linux). */
const TICKS_PER_S = 100;

const progress = (line: string): boolean => process.stderr.write(line + '\n');

function sluiceConfig(workers: number, sims: readonly number[], limits: boolean): string {
  const keys = limits
    ? `keys: [{ key: ${BENCH_KEY}, alias: bench, rpm: 1000000000, max_parallel_requests: 100000 }]\nplugins: [auth.api_key, limit.key, route.simple_shuffle]\n`
    : '';
  return (
    `server: { workers: ${workers}, log_level: warn }\n` +
    keys +
    'model_list:\n' +
    sims.map((p, i) => `  - model_name: sim\n    litellm_params: { model: openai/sim, api_base: http://127.0.0.1:${p} }\n    model_info: { id: sim-${i + 1} }\n`).join('')
  );
}

async function startSluice(procs: Processes, tmp: string, name: string, workers: number, sims: readonly number[], limits: boolean): Promise<Target> {
  const port = await freePort();
  const config = join(tmp, `${name.replace(/\W+/g, '-')}.yaml`);
  writeFileSync(config, sluiceConfig(workers, sims, limits));
  const child = procs.start(name, NODE, ['core/main.js', '--config', config, '--port', String(port), '--host', '127.0.0.1'], 0, ROOT);
  await waitForHttp(child, `http://127.0.0.1:${port}/health/readiness`, START_TIMEOUT_MS).catch(startFailure(child));
  if (workers > 1) await sleep(2000); // the readiness answer came from the first worker up; let the other start too
  return { label: name, url: `http://127.0.0.1:${port}/v1/chat/completions`, pid: child.proc.pid ?? 0 };
}

async function startNginx(procs: Processes, binary: string, tmp: string, workers: number, sims: readonly number[]): Promise<Target> {
  const port = await freePort();
  const dir = join(tmp, `nginx-${workers}`);
  // The load bench's config (one worker, no master), with a master and `workers` workers instead.
  const conf = nginxConf(dir, [{ listenPort: port, upstreamPorts: sims }]).replace('worker_processes 1;\ndaemon off;\nmaster_process off;', `worker_processes ${workers};\ndaemon off;`);
  if (!conf.includes(`worker_processes ${workers};`)) throw new Error('bench/load/nginx.ts changed its config header: update bench/workers.bench.ts');
  const file = join(tmp, `nginx-${workers}.conf`);
  writeFileSync(file, conf);
  const child = procs.start(`nginx, ${workers} worker${workers === 1 ? '' : 's'}`, binary, ['-p', tmp, '-c', file, '-e', join(dir, 'startup.log')], 0, tmp);
  await waitForHttp(child, `http://127.0.0.1:${port}/health`, START_TIMEOUT_MS).catch(startFailure(child));
  return { label: child.name, url: `http://127.0.0.1:${port}/v1/chat/completions`, pid: child.proc.pid ?? 0 };
}

function startFailure(child: Child): (error: Error) => never {
  return (error) => {
    throw new Error(`${error.message}\n--- ${child.name} output ---\n${child.output || '(none)'}`);
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { duration: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, loadgen: { type: 'string' } },
    strict: true,
  });
  const durationS = Number(values.duration);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(durationS) || durationS < 1 || durationS > 300 || !Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
    process.stderr.write('usage: node bench/workers.bench.ts [--duration <s, 1..300>] [--rounds <1..20>] [--loadgen wrk|autocannon]\n');
    return 2;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-workers-'));
  const procs = new Processes(false);
  process.once('exit', () => {
    procs.killAllNow();
    rmSync(tmp, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void procs.stopAll().finally(() => process.exit(130)));
  try {
    const wrk = values.loadgen === 'autocannon' ? null : findBinary('wrk');
    const loadgen: LoadGen | null = wrk !== null ? new Wrk(wrk, procs, tmp) : Autocannon.load();
    if (loadgen === null) throw new Error('neither wrk nor autocannon is available');
    const nginx = findBinary('nginx', ['/usr/sbin', '/usr/local/sbin']);

    // Two simulators, so the backend is not what caps two proxy workers.
    const sims = await Promise.all([freePort(), freePort()]);
    await Promise.all(
      sims.map(async (port, i) => {
        const sim = procs.start(`simulator ${i + 1}`, NODE, ['test/sim/cli.ts', '--kind', 'openai', '--port', String(port)], 0, ROOT);
        await waitForOutput(sim, /^listening /m, START_TIMEOUT_MS).catch(startFailure(sim));
      }),
    );
    const targets: Target[] = [
      await startSluice(procs, tmp, 'Sluice, 1 process', 1, sims, false),
      await startSluice(procs, tmp, 'Sluice, 2 workers', 2, sims, false),
      await startSluice(procs, tmp, 'Sluice, 1 process, key limits', 1, sims, true),
      await startSluice(procs, tmp, 'Sluice, 2 workers, key limits (IPC store)', 2, sims, true),
    ];
    if (nginx !== null) targets.push(await startNginx(procs, nginx, tmp, 1, sims), await startNginx(procs, nginx, tmp, 2, sims));
    progress(`started: 2 simulators, ${targets.map((t) => t.label).join('; ')}; load generator ${loadgen.name}, ${CONNECTIONS} connections`);

    const results = new Map<string, LoadResult[]>(targets.map((t) => [t.label, []]));
    /** Per target and round: the proxy's CPU µs per request. */
    const cpu = new Map<string, number[]>(targets.map((t) => [t.label, []]));
    for (let r = 0; r <= rounds; r++) {
      const warmup = r === 0;
      for (const target of targets) {
        const ticksBefore = cpuTicks(target.pid);
        const result = await loadgen.run({ url: target.url, body: BODY, connections: CONNECTIONS, durationS: warmup ? Math.min(2, durationS) : durationS });
        const cpuUs = ((cpuTicks(target.pid) - ticksBefore) / TICKS_PER_S) * 1e6 / Math.max(1, result.requests);
        if (!warmup) cpu.get(target.label)!.push(cpuUs);
        const dead = procs.firstDead();
        if (dead !== undefined) throw new Error(`${dead.name} exited during the run (${dead.exitReason ?? '?'})\n${dead.output}`);
        if (!warmup) results.get(target.label)!.push(result);
        progress(`[${warmup ? 'warm-up' : `round ${r}/${rounds}`}] ${target.label}: ${Math.round(result.rps)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, CPU ${Math.round(cpuUs)} µs/request, errors ${result.errors}`);
        await sleep(PAUSE_MS);
      }
    }

    const rps = (label: string): number => median((results.get(label) ?? []).map((r) => r.rps));
    const cpuPer = (label: string): number => median(cpu.get(label) ?? []);
    const rows = targets.map((t) => {
      const list = results.get(t.label)!;
      return [
        t.label,
        String(Math.round(rps(t.label))),
        `${Math.round(Math.min(...list.map((r) => r.rps)))}-${Math.round(Math.max(...list.map((r) => r.rps)))}`,
        median(list.map((r) => r.p50Ms)).toFixed(2),
        median(list.map((r) => r.p99Ms)).toFixed(2),
        String(Math.round(cpuPer(t.label))),
        String(list.reduce((sum, r) => sum + r.errors, 0)),
      ];
    });
    const lines = [
      '',
      `Sluice workers benchmark - node ${process.version}, ${availableParallelism()} cores, UNPINNED (proxies, 2 simulators and ${loadgen.name} share every core)`,
      `non-streaming chat, ${CONNECTIONS} connections, ${durationS} s x ${rounds} rounds, medians over rounds`,
      '',
      table(['', 'req/s', 'range', 'p50 ms', 'p99 ms', 'CPU µs/req', 'errors'], rows),
      '  (CPU µs/req: user + system time of all the proxy\'s processes during the run, per request served)',
      '',
      `  Sluice 2 workers / 1 process             = ${ratio(rps('Sluice, 2 workers') / rps('Sluice, 1 process'))}`,
      `  Sluice with key limits, 2 workers / 1    = ${ratio(rps('Sluice, 2 workers, key limits (IPC store)') / rps('Sluice, 1 process, key limits'))}`,
      `  key limits cost, 1 process               = ${ratio(rps('Sluice, 1 process, key limits') / rps('Sluice, 1 process'))} of the throughput without`,
      `  key limits cost, 2 workers (IPC store)   = ${ratio(rps('Sluice, 2 workers, key limits (IPC store)') / rps('Sluice, 2 workers'))} of the throughput without`,
      `  CPU per request, Sluice 2 workers / 1    = ${ratio(cpuPer('Sluice, 2 workers') / cpuPer('Sluice, 1 process'))}`,
      `  CPU per request with key limits, 2 / 1   = ${ratio(cpuPer('Sluice, 2 workers, key limits (IPC store)') / cpuPer('Sluice, 1 process, key limits'))} (the IPC store's share, primary included)`,
      ...(nginx === null
        ? ['  nginx not installed: no nginx rows']
        : [
            `  nginx 2 workers / 1 worker               = ${ratio(rps('nginx, 2 workers') / rps('nginx, 1 worker'))}`,
            `  Sluice / nginx, 1 worker each            = ${ratio(rps('Sluice, 1 process') / rps('nginx, 1 worker'))}`,
            `  Sluice / nginx, 2 workers each           = ${ratio(rps('Sluice, 2 workers') / rps('nginx, 2 workers'))}`,
          ]),
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  } catch (error) {
    progress(`bench:workers failed: ${(error as Error).stack ?? String(error)}`);
    return 1;
  } finally {
    await procs.stopAll();
  }
}

process.exitCode = await main();
