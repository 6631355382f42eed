// CPU per request of two builds of Sluice, compared on a machine whose speed drifts.
//
//   npm run bench:ab -- --a <checkout> --b <checkout> [--rounds 8 --duration 2 --connections 32]
//
// On this virtual machine, requests per second and even CPU per request move by tens of percent from one minute to
// the next (other tenants), far more than one change to the request path moves them, so runs one after the other
// cannot tell a 3% change from noise. Here the two builds run at once, both on core 0, each loaded by its own wrk
// on core 1 (with the simulators): whatever the machine does meanwhile slows both alike. Each round gives B's CPU
// per request over A's. The side a build runs on has a small bias of its own (start order, port), so the run is
// repeated with the sides swapped; the report's figure is the geometric mean of the two medians, B's CPU per
// request as a share of A's.
//
// Both run the full chain of `npm run bench:load`. Each checkout needs its own node_modules (`npm ci`, or a
// symlink to this one's for a `git worktree`).

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FULL_CHAIN_SECTIONS } from './load/chain.ts';
import { Wrk } from './load/loadgen.ts';
import { Processes, cpuSeconds, findBinary, freePort, pinSelf, waitForHttp, waitForOutput, type Child } from './load/procs.ts';
import { median } from './load/stats.ts';

const ROOT = resolve(import.meta.dirname, '..');
const NODE = process.execPath;
const START_TIMEOUT_MS = 20_000;
const BODY = JSON.stringify({ model: 'sim', messages: [{ role: 'user', content: 'hello' }] });

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    rounds: { type: 'string', default: '8' },
    duration: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
  },
});
if (values.a === undefined || values.b === undefined) {
  console.error('usage: node bench/ab-cpu.ts --a <checkout> --b <checkout> [--rounds 8 --duration 2 --connections 32]');
  process.exit(2);
}
const checkouts = { A: resolve(values.a), B: resolve(values.b) };
for (const dir of Object.values(checkouts)) {
  if (!existsSync(join(dir, 'core/main.js')) || !existsSync(join(dir, 'node_modules'))) {
    console.error(`${dir}: not a Sluice checkout with its node_modules`);
    process.exit(2);
  }
}
const rounds = Number(values.rounds);
const durationS = Number(values.duration);
const connections = Number(values.connections);
const wrkBinary = findBinary('wrk');
if (wrkBinary === null || availableParallelism() < 2 || findBinary('taskset') === null || !pinSelf(1)) {
  console.error('needs wrk, taskset and two cores');
  process.exit(2);
}

const tmp = mkdtempSync(join(tmpdir(), 'sluice-ab-'));
const procs = new Processes(true);
process.on('exit', () => {
  procs.killAllNow();
  rmSync(tmp, { recursive: true, force: true });
});

async function startSim(port: number): Promise<void> {
  const sim = procs.start(`simulator :${port}`, NODE, ['test/sim/cli.ts', '--kind', 'openai', '--port', String(port)], 1, ROOT);
  await waitForOutput(sim, /^listening /m, START_TIMEOUT_MS);
}

interface Running {
  readonly child: Child;
  readonly port: number;
}

async function startSluice(side: string, checkout: string, simPorts: readonly number[]): Promise<Running> {
  const port = await freePort();
  const models = simPorts.map((p, i) => `  - model_name: sim\n    litellm_params: { model: openai/sim, api_base: http://127.0.0.1:${p} }\n    model_info: { id: sim-${i + 1} }\n`).join('');
  const path = join(tmp, `${side}.yaml`);
  writeFileSync(path, `server: { host: 127.0.0.1, port: ${port}, log_level: warn }\n${FULL_CHAIN_SECTIONS}model_list:\n${models}`);
  const child = procs.start(`Sluice ${side} (${checkout})`, NODE, ['core/main.js', '--config', path], 0, checkout);
  await waitForHttp(child, `http://127.0.0.1:${port}/health/readiness`, START_TIMEOUT_MS);
  return { child, port };
}

/** One round: both loaded at once; CPU µs per request of each. */
async function round(wrk: Wrk, left: Running, right: Running, seconds: number): Promise<[number, number]> {
  const pids = [left.child.proc.pid!, right.child.proc.pid!];
  const before = pids.map(cpuSeconds);
  const results = await Promise.all(
    [left, right].map((s) => wrk.run({ url: `http://127.0.0.1:${s.port}/v1/chat/completions`, body: BODY, connections, durationS: seconds })),
  );
  const after = pids.map(cpuSeconds);
  for (const r of results) if (r.errors > 0) throw new Error(`${r.errors} failed requests: the figures would not compare like with like`);
  return [0, 1].map((i) => ((after[i]! - before[i]!) * 1e6) / results[i]!.requests) as [number, number];
}

/** `left` on the first port started, `right` on the second; returns right's CPU per request over left's, per round. */
async function pass(wrk: Wrk, simPorts: readonly number[], left: 'A' | 'B', right: 'A' | 'B'): Promise<{ ratios: number[]; cpu: Record<string, number[]> }> {
  const l = await startSluice(left, checkouts[left], simPorts);
  const r = await startSluice(right, checkouts[right], simPorts);
  await round(wrk, l, r, 2); // warm-up: JIT, pools, the young generation's size
  const ratios: number[] = [];
  const cpu: Record<string, number[]> = { [left]: [], [right]: [] };
  for (let i = 0; i < rounds; i++) {
    const [cl, cr] = await round(wrk, l, r, durationS);
    cpu[left]!.push(cl);
    cpu[right]!.push(cr);
    ratios.push(cr / cl);
    process.stderr.write(`  ${left} ${cl.toFixed(1)} µs, ${right} ${cr.toFixed(1)} µs: ${right}/${left} ${(cr / cl).toFixed(3)}\n`);
  }
  for (const s of [l, r]) s.child.proc.kill('SIGTERM');
  await Promise.all([l.child.exited, r.child.exited]);
  return { ratios, cpu };
}

const simPorts = [await freePort(), await freePort()];
await Promise.all(simPorts.map(startSim));
const wrk = new Wrk(wrkBinary, procs, tmp);
process.stderr.write(`A = ${checkouts.A}\nB = ${checkouts.B}\npass 1: A started first\n`);
const first = await pass(wrk, simPorts, 'A', 'B');
process.stderr.write('pass 2: B started first\n');
const second = await pass(wrk, simPorts, 'B', 'A');
await procs.stopAll();

// Pass 1 gives B/A with B second; pass 2 gives A/B with A second. The side's bias divides out of their quotient.
const bOverA = Math.sqrt(median(first.ratios) / median(second.ratios));
const all = (side: 'A' | 'B'): number[] => [...first.cpu[side]!, ...second.cpu[side]!];
console.log(`CPU per request, median of ${2 * rounds} rounds: A ${median(all('A')).toFixed(1)} µs, B ${median(all('B')).toFixed(1)} µs (both loaded at once, so both slow alike)`);
console.log(`B/A: pass 1 ${median(first.ratios).toFixed(3)} (B lower in ${first.ratios.filter((x) => x < 1).length}/${rounds}), pass 2 A/B ${median(second.ratios).toFixed(3)} (A lower in ${second.ratios.filter((x) => x < 1).length}/${rounds})`);
console.log(`B's CPU per request is ${bOverA.toFixed(3)}× A's (${((bOverA - 1) * 100).toFixed(1)}%)`);
