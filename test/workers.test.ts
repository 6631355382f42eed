// server.workers: a primary process and N workers on one port. Real processes (`node core/main.js`), real sockets:
// limits exact across workers without Redis, a dead worker restarted, a lost primary ending its workers, SIGHUP
// reloading every worker, SIGTERM letting streams in flight finish. And the IPC store itself, on a fake channel.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { IpcStore, serveStore, FORWARDED_METHODS, type IpcEnd, type StoreMessage } from '../core/state/ipc-store.ts';
import type { LimitCheck } from '../core/state/store.ts';
import { MemoryStore } from '../core/state/memory-store.ts';
import { quickExits, restartDelay } from '../core/workers/primary.ts';
import { fakeContext, fakeDeps } from '../core/plugin/testing.ts';
import type { RequestContext, SluiceError } from '../core/plugin/api.ts';
import keyLimits from '../plugins/limits/key-limits.ts';
import { request } from 'node:http';
import { chat, post, ROOT, settles, sleep, startCli, startHeldBackend, until, untilAsync, type RawResponse } from './helpers.ts';
import { startOpenAISim } from './sim/openai-sim.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-workers-'));
// A test plugin that names the process that served each request, so a test can see both workers at work.
writeFileSync(
  join(dir, 'served-by.ts'),
  `import { definePlugin } from ${JSON.stringify(join(ROOT, 'core', 'plugin', 'api.ts'))};
export default definePlugin({
  id: 'test.served_by',
  create() {
    return { onRequest(ctx) { ctx.responseHeaders['x-served-by'] = String(process.pid); } };
  },
});
`,
);

const MASTER = 'sk-master-0123456789';
const RPM_KEY = 'sk-rpm-0123456789ab';
const PARALLEL_KEY = 'sk-par-0123456789ab';
const RPM = 20;
const PARALLEL = 3;

/** A fresh connection per request: node:cluster hands each connection to the next worker in turn. */
const ask = (url: string, key: string, body: string): Promise<RawResponse> =>
  post(`${url}/v1/chat/completions`, body, { authorization: `Bearer ${key}`, connection: 'close' });
const servedBy = (res: RawResponse): string => String(res.headers['x-served-by']);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Worker pids by number, from the primary's `worker N started pid=P` lines. */
function workerPids(log: string): Map<number, number> {
  const pids = new Map<number, number>();
  for (const m of log.matchAll(/worker (\d+) started pid=(\d+)/g)) pids.set(Number(m[1]), Number(m[2]));
  return pids;
}

describe('two workers, one port, limits shared through the primary', () => {
  test(`rpm ${RPM} and max_parallel_requests ${PARALLEL} are exact across workers; a SIGKILLed worker is restarted; a lost primary ends its workers`, { timeout: 180_000 }, async () => {
    const backend = await startHeldBackend();
    const file = join(dir, 'limits.yaml');
    writeFileSync(
      file,
      `server: { workers: 2 }
general_settings: { master_key: ${MASTER} }
keys:
  - { key: ${RPM_KEY}, alias: rpm, rpm: ${RPM} }
  - { key: ${PARALLEL_KEY}, alias: par, max_parallel_requests: ${PARALLEL} }
plugins: [{ path: ./served-by.ts }, auth.api_key, limit.key, route.round_robin]
model_list:
  - { model_name: held, litellm_params: { model: openai/held, api_base: ${backend.url}/v1 } }
`,
    );
    const cli = startCli(file);
    let log = '';
    cli.child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    try {
      const url = `http://127.0.0.1:${(await cli.waitFor(/sluice primary: 2 workers listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]}`;
      const pids = workerPids(log);
      assert.equal(pids.size, 2);

      // rpm: twice the limit, one connection each, so both workers take requests.
      const answers: RawResponse[] = [];
      for (let i = 0; i < 2 * RPM; i++) answers.push(await ask(url, RPM_KEY, chat('held')));
      const admitted = answers.filter((r) => r.status === 200);
      assert.equal(admitted.length, RPM, `exactly ${RPM} admitted in the minute, not ${RPM} per worker`);
      assert.equal(answers.filter((r) => r.status === 429).length, RPM);
      assert.deepEqual(new Set(admitted.map(servedBy)), new Set([...pids.values()].map(String)), 'both workers admitted requests');
      assert.deepEqual(new Set(answers.filter((r) => r.status === 429).map(servedBy)), new Set([...pids.values()].map(String)), 'both workers refused requests');

      // max_parallel_requests: streams held open at the backend hold their leases.
      const streams = Array.from({ length: 8 }, () => ask(url, PARALLEL_KEY, chat('held', { stream: true })));
      const settled: RawResponse[] = [];
      for (const s of streams) void s.then((r) => settled.push(r), () => {});
      await until(`${PARALLEL} streams open and the other ${8 - PARALLEL} refused`, () => backend.open === PARALLEL && settled.length === 8 - PARALLEL);
      assert.ok(settled.every((r) => r.status === 429), 'the requests over the limit were refused');
      backend.release();
      const all = await Promise.all(streams);
      assert.equal(all.filter((r) => r.status === 200).length, PARALLEL, `exactly ${PARALLEL} streams ran at once across both workers`);
      assert.equal(new Set(all.map(servedBy)).size, 2, 'both workers took streams');
      assert.equal(backend.open, 0);
      // The leases were released in the primary's store: as many streams fit again.
      const again = Array.from({ length: PARALLEL }, () => ask(url, PARALLEL_KEY, chat('held', { stream: true })));
      await until(`${PARALLEL} new streams open`, () => backend.open === PARALLEL);
      backend.release();
      assert.deepEqual((await Promise.all(again)).map((r) => r.status), Array(PARALLEL).fill(200));

      // A worker killed outright: the primary logs why and starts another in its place, which serves.
      const victim = pids.get(1)!;
      process.kill(victim, 'SIGKILL');
      await cli.waitFor(new RegExp(`worker 1 exited unexpectedly; restarting it.* pid=${victim} signal=SIGKILL`));
      const replacement = Number((await cli.waitFor(/worker 1 listening pid=(\d+)/))[1]);
      assert.notEqual(replacement, victim);
      assert.equal(alive(victim), false);
      const servers = new Set<string>();
      // Connections take turns between the workers; a few are enough to reach the new one.
      for (let i = 0; i < 10 && !servers.has(String(replacement)); i++) {
        const res = await ask(url, RPM_KEY, chat('held'));
        assert.equal(res.status, 429, 'the minute is still spent: the counts live in the primary, not in the dead worker');
        servers.add(servedBy(res));
      }
      assert.ok(servers.has(String(replacement)), 'the restarted worker serves');

      // Without its primary a worker cannot check limits, so it must not serve: it exits.
      const workers = [replacement, pids.get(2)!];
      cli.child.kill('SIGKILL');
      await cli.exited;
      await until('both workers exited after losing the primary', () => workers.every((pid) => !alive(pid)));
    } finally {
      cli.child.kill('SIGKILL');
      for (const pid of workerPids(log).values()) if (alive(pid)) process.kill(pid, 'SIGKILL');
      await backend.close();
    }
  });
});

describe('signals to the primary reach every worker', () => {
  test('SIGHUP reloads every worker (streams in flight finish on their config), a broken config is refused by all, SIGTERM lets streams finish', { timeout: 180_000 }, async () => {
    const backend = await startHeldBackend();
    const file = join(dir, 'reload.yaml');
    const config = (groups: readonly string[], extra = ''): string =>
      `server: { workers: 2 }
${extra}plugins: [{ path: ./served-by.ts }, { name: metrics, options: { open: true } }, route.round_robin]
model_list:
${groups.map((g) => `  - { model_name: ${g}, litellm_params: { model: openai/${g}, api_base: ${backend.url}/v1 } }`).join('\n')}
`;
    writeFileSync(file, config(['old']));
    const cli = startCli(file);
    let log = '';
    cli.child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    try {
      const url = `http://127.0.0.1:${(await cli.waitFor(/sluice primary: 2 workers listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]}`;
      const pids = new Set([...workerPids(log).values()].map(String));
      const oldStreams = Array.from({ length: 4 }, () => post(`${url}/v1/chat/completions`, chat('old', { stream: true }), { connection: 'close' }));
      for (const s of oldStreams) s.catch(() => {});
      await until('4 streams open', () => backend.open === 4);

      writeFileSync(file, config(['fresh']));
      cli.child.kill('SIGHUP');
      await cli.waitFor(/SIGHUP: config reloaded in every worker workers=2/);
      assert.equal(log.match(/SIGHUP: config reloaded; new requests use it.* worker=\d/g)?.length, 2, 'each worker logged its reload');
      const fresh: RawResponse[] = [];
      for (let i = 0; i < 4; i++) fresh.push(await post(`${url}/v1/chat/completions`, chat('fresh'), { connection: 'close' }));
      assert.deepEqual(fresh.map((r) => r.status), [200, 200, 200, 200], 'the new group answers');
      assert.deepEqual(new Set(fresh.map(servedBy)), pids, 'in both workers');
      assert.equal((await post(`${url}/v1/chat/completions`, chat('old'), { connection: 'close' })).status, 404);

      // One scrape of /metrics sums the workers: the 4 held streams are split between them, the 4 answers too.
      const scrape = await (await fetch(`${url}/metrics`, { headers: { connection: 'close' } })).text();
      const sample = (name: string, having = ''): number => {
        const lines = scrape.split('\n').filter((l) => l.startsWith(name) && l.includes(having));
        const values = lines.map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
        assert.ok(values.length > 0, `${name} in the scrape`);
        return values.reduce((a, b) => a + b, 0);
      };
      assert.equal(sample('sluice_requests_in_flight '), 4, 'the streams in flight of both workers');
      assert.equal(sample('litellm_proxy_total_requests_metric_total{', 'requested_model="fresh"'), 4);
      assert.equal(sample('sluice_config_loads_total '), 4, 'each worker loaded twice: at start and at the reload');

      // Refused by the primary's check, so by every worker alike; the last good config keeps serving in both.
      writeFileSync(file, config(['broken']).replace('server: { workers: 2 }', 'server: { workers: 2, colour: blue }'));
      cli.child.kill('SIGHUP');
      await cli.waitFor(/SIGHUP: config refused, the running config keeps serving in every worker/);
      await cli.waitFor(/SIGHUP: line 1: server: unknown key "colour"/);
      // One that only fails when the workers build it (a plugin file that is not there): each worker refuses it.
      writeFileSync(file, config(['broken']).replace('route.round_robin]', 'route.round_robin, { path: ./missing-plugin.ts }]'));
      cli.child.kill('SIGHUP');
      await cli.waitFor(/SIGHUP: config refused by every worker \(see their lines\), the running config keeps serving/);
      assert.equal(log.match(/SIGHUP: config refused, the running config keeps serving .*worker=\d/g)?.length, 2, 'each worker logged its refusal');
      const after: RawResponse[] = [];
      for (let i = 0; i < 4; i++) after.push(await post(`${url}/v1/chat/completions`, chat('fresh'), { connection: 'close' }));
      assert.deepEqual(after.map((r) => r.status), [200, 200, 200, 200]);
      assert.deepEqual(new Set(after.map(servedBy)), pids);

      // SIGTERM with the old streams still open: the workers stop accepting, the streams run to their end.
      cli.child.kill('SIGTERM');
      await until('both workers are shutting down', () => (log.match(/SIGTERM: shutting down, waiting for requests in flight.* worker=\d/g) ?? []).length === 2);
      backend.release();
      for (const res of await Promise.all(oldStreams)) {
        assert.equal(res.status, 200);
        assert.match(res.body.toString(), /"content":"held"[\s\S]*data: \[DONE\]\n\n$/, 'the stream ran to its end on the config it started on');
      }
      assert.equal(await cli.exited, 0);
      assert.match(log, /worker 1 stopped/);
      assert.match(log, /worker 2 stopped/);
      assert.doesNotMatch(log, /exited unexpectedly/);
    } finally {
      cli.child.kill('SIGKILL');
      for (const pid of workerPids(log).values()) if (alive(pid)) process.kill(pid, 'SIGKILL');
      await backend.close();
    }
  });
});

/** A GET on a connection of its own (so node:cluster hands it to the next worker), with the body as text. */
function getFresh(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('router state shared by the workers through the primary', () => {
  test('a deployment one worker cooled is avoided by the other worker', { timeout: 180_000 }, async () => {
    // s1 answers 429 with a ten-minute Retry-After: the worker that sends it a request cools it down.
    const s1 = await startOpenAISim({ status: 429, retryAfterSec: 600 });
    const s2 = await startOpenAISim();
    const file = join(dir, 'cooldown.yaml');
    writeFileSync(
      file,
      `server: { workers: 2 }
plugins: [{ path: ./served-by.ts }, route.round_robin]
model_list:
  - { model_name: m, litellm_params: { model: openai/sim, api_base: "${s1.url}", api_key: sk-s1 }, model_info: { id: s1 } }
  - { model_name: m, litellm_params: { model: openai/sim, api_base: "${s2.url}", api_key: sk-s2 }, model_info: { id: s2 } }
`,
    );
    const cli = startCli(file);
    try {
      const url = `http://127.0.0.1:${(await cli.waitFor(/sluice primary: 2 workers listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]}`;
      const ask = (): Promise<RawResponse> => post(`${url}/v1/chat/completions`, chat('m'), { connection: 'close' });
      let cooler = '';
      while (s1.stats.requests === 0) {
        const res = await ask();
        assert.equal(res.status, 200, 'the worker that met the 429 retried on s2');
        cooler = servedBy(res);
      }
      // Connections take turns between the workers: six /health answers in a row that report the cooldown cover
      // both. Without shared state the other worker never reports it, and this waits until the hang guard.
      let inARow = 0;
      await untilAsync(
        'both workers report s1 cooling down',
        async () => {
          const report = JSON.parse((await getFresh(`${url}/health?model=m`)).body) as { unhealthy_endpoints: { model_id: string; reason: string }[] };
          inARow = report.unhealthy_endpoints.some((e) => e.model_id === 's1' && e.reason === 'cooldown') ? inARow + 1 : 0;
          return inARow >= 6;
        },
        120_000,
      );
      const before = s1.stats.requests;
      const servers = new Set<string>();
      for (let i = 0; i < 10; i++) {
        const res = await ask();
        assert.equal(res.status, 200);
        servers.add(servedBy(res));
      }
      assert.equal(servers.size, 2, 'both workers served');
      assert.ok(servers.has(cooler));
      assert.equal(s1.stats.requests, before, 'neither worker sent the cooled deployment anything more');
      cli.child.kill('SIGTERM');
      assert.equal(await cli.exited, 0);
    } finally {
      cli.child.kill('SIGKILL');
      await s1.close();
      await s2.close();
    }
  });
});

describe('a worker that cannot start', () => {
  test('stops the gateway with status 1 instead of restarting in a loop', { timeout: 120_000 }, async () => {
    const file = join(dir, 'broken.yaml');
    // The file loads (the primary's check passes); building the plugin chain fails in each worker.
    writeFileSync(file, `server: { workers: 2 }\nplugins: [{ path: ./no-such-plugin.ts }, route.round_robin]\nmodel_list: [{ model_name: m, litellm_params: { model: mock/m } }]\n`);
    const cli = startCli(file);
    try {
      await cli.waitFor(/worker \d exited before it was listening; stopping/);
      assert.equal(await cli.exited, 1);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  test('restart back-off: none after a long run, then 100 ms doubling up to 30 s for quick exits in a row', () => {
    assert.equal(quickExits(60_000, 3), 0, 'a worker that ran a minute resets the count');
    assert.equal(quickExits(500, 0), 1);
    assert.equal(quickExits(500, 4), 5);
    assert.deepEqual([0, 1, 2, 3, 4, 9, 20].map(restartDelay), [0, 100, 200, 400, 800, 25_600, 30_000]);
  });
});

/** Both ends of a channel in one process: what one sends, the other receives on the next turn, as over IPC. */
function channel(): { worker: IpcEnd & { sent: StoreMessage[] }; primary: IpcEnd; disconnect(): void } {
  const toWorker = new EventEmitter();
  const toPrimary = new EventEmitter();
  let open = true;
  const end = (incoming: EventEmitter, outgoing: EventEmitter, sent: StoreMessage[]): IpcEnd & { sent: StoreMessage[] } => ({
    sent,
    send(message) {
      if (!open) throw new Error('channel closed');
      sent.push(message);
      // Through JSON, as node:cluster's default serialization.
      const copy = JSON.parse(JSON.stringify(message)) as unknown;
      setImmediate(() => outgoing.emit('message', copy));
      return true;
    },
    on: (event: string, listener: (message: unknown) => void) => incoming.on(event, listener),
    off: (event: string, listener: (message: unknown) => void) => incoming.off(event, listener),
  });
  return {
    worker: end(toWorker, toPrimary, []),
    primary: end(toPrimary, toWorker, []),
    disconnect() {
      open = false;
      toWorker.emit('disconnect');
    },
  };
}

describe('IPC store', () => {
  test('calls of one turn go as one message and get the primary store answers; argument errors keep their class', async () => {
    const memory = new MemoryStore({ sweepIntervalMs: 0 });
    const link = channel();
    serveStore(memory, link.primary);
    const store = new IpcStore(link.worker);
    const decisions = await Promise.all(Array.from({ length: 5 }, () => store.windowCheck('k', 3, 60_000, 1, 1000)));
    assert.deepEqual(decisions.map((d) => d.allowed), [true, true, true, false, false]);
    assert.equal(link.worker.sent.length, 1, 'five calls in one turn: one message');
    assert.equal(memory.stats().windows, 1, 'the primary store holds the window');
    await assert.rejects(store.gcra('k', -1, 0, 1000), RangeError);
    assert.equal(await store.counterAdd('spend', 1.5, null, 1000), 1.5);
    assert.equal(await store.counterGet('spend', 1000), 1.5);
    assert.equal((await store.acquireLease('p', 1, 'a', 1000, 1000)).allowed, true);
    assert.equal((await store.acquireLease('p', 1, 'b', 1000, 1000)).allowed, false);
    await store.releaseLease('p', 'a');
    assert.equal((await store.acquireLease('p', 1, 'b', 1000, 1000)).allowed, true);
    assert.equal(store.health(), 'ok');
    await memory.close();
  });

  test("limit.key's checks of one request (a slot, tokens, requests) go as one call in one message, and stay exact", async () => {
    const memory = new MemoryStore({ sweepIntervalMs: 0 });
    const link = channel();
    serveStore(memory, link.primary);
    const store = new IpcStore(link.worker);
    const plugin = await keyLimits.create({}, fakeDeps({ store, sections: { keys: [{ key: 'x', tpm: 1000 }] } }));
    const auth = { keyId: 'k', models: null, limits: { rpm: 3, tpm: 1000, maxParallelRequests: 2 }, metadata: {} };
    const ctx = (): RequestContext => {
      const c = fakeContext();
      c.auth = auth;
      return c;
    };
    /** Admits one request; returns the calls of the one message it sent, or fails when it sent more or none. */
    const admit = async (c: RequestContext): Promise<unknown> => {
      const before = link.worker.sent.length;
      const outcome = await Promise.resolve(plugin.admit!(c)).then(() => 'admitted', (error: SluiceError) => `${error.status} ${error.message}`);
      const sent = link.worker.sent.slice(before);
      assert.deepEqual(sent.map((m) => ('calls' in m ? m.calls.map((call) => call[1]) : [])), [['checkLimits']], 'one message, one call');
      return outcome;
    };
    const [first, second] = [ctx(), ctx()];
    assert.equal(await admit(first), 'admitted');
    assert.equal(first.responseHeaders['x-ratelimit-remaining-requests'], '2');
    assert.equal(first.responseHeaders['x-ratelimit-limit-tokens'], '1000');
    assert.equal(await admit(second), 'admitted');
    assert.match(String(await admit(ctx())), /^429 Too many concurrent requests for key:k/);
    // One slot freed: the third request is counted, and the fourth is over the rpm (its slot is given back).
    plugin.log!(first);
    await until('the release was answered', () => store.pending === 0);
    const third = ctx();
    assert.equal(await admit(third), 'admitted');
    assert.equal(third.responseHeaders['x-ratelimit-remaining-requests'], '0');
    plugin.log!(second);
    plugin.log!(third);
    await until('the releases were answered', () => store.pending === 0);
    assert.match(String(await admit(ctx())), /^429 Request limit for key:k reached/);
    assert.equal(memory.stats().leases, 0, 'no slot held: the refused request gave its own back');
    await memory.close();
  });

  test('every call pending when the channel closes is rejected, and every later one; health turns down', async () => {
    const link = channel();
    // A primary that never answers: the calls stay pending until the channel closes.
    const store = new IpcStore(link.worker);
    const pending = [store.windowCheck('k', 3, 60_000, 1, 1000), store.acquireLease('p', 1, 'a', 1000, 1000)];
    await until('the calls were sent', () => store.pending === 2 && link.worker.sent.length === 1);
    link.disconnect();
    for (const call of pending) await assert.rejects(settles('pending call', call), /channel to the primary process closed/);
    await assert.rejects(store.gcra('k', 1, 0, 1000), /channel to the primary process closed/);
    assert.equal(store.health(), 'down');
    assert.equal(store.pending, 0);
  });

  test("a worker's leases still held when it is gone are given back, and only those", async () => {
    const memory = new MemoryStore({ sweepIntervalMs: 0 });
    const dead = channel();
    const served = serveStore(memory, dead.primary);
    const doomed = new IpcStore(dead.worker);
    const alive = channel();
    serveStore(memory, alive.primary);
    const survivor = new IpcStore(alive.worker);
    // Lease TTLs of an hour: nothing expires during the test, so only the give-back can free a slot.
    const HOUR = 3_600_000;
    assert.equal((await doomed.acquireLease('p', 3, 'd1', HOUR, 1000)).allowed, true);
    assert.equal((await doomed.acquireLease('p', 3, 'd2', HOUR, 1000)).allowed, true);
    await doomed.releaseLease('p', 'd2');
    assert.equal((await doomed.acquireLease('p', 3, 'd3', HOUR, 1000)).allowed, true);
    assert.equal((await survivor.acquireLease('p', 3, 's1', HOUR, 1000)).allowed, true);
    assert.equal((await survivor.acquireLease('p', 3, 's2', HOUR, 1000)).allowed, false, 'all three slots taken');
    // Slots taken through checkLimits: q's is held; r's was given back by the refusal that followed it.
    const slot = (key: string, id: string): LimitCheck => ({ lease: key, max: 1, leaseId: id, ttlMs: HOUR });
    assert.equal((await doomed.checkLimits([slot('q', 'd4')], 1000)).allowed, true);
    assert.equal((await doomed.checkLimits([slot('r', 'd5'), { window: 'full', limit: 0, windowMs: HOUR, cost: 1 }], 1000)).allowed, false);
    assert.equal((await survivor.checkLimits([slot('r', 's5')], 1000)).allowed, true, "d5's slot was given back at once");
    await survivor.releaseLease('r', 's5');
    assert.equal((await survivor.checkLimits([slot('q', 's6')], 1000)).allowed, false, 'd4 holds q');
    dead.disconnect();
    served.stop();
    await served.releaseHeldLeases();
    assert.equal((await survivor.checkLimits([slot('q', 's6'), slot('r', 's7')], 1000)).allowed, true, 'q given back with the worker');
    // d1 and d3 are free again; the survivor's s1 still holds its slot.
    assert.equal((await survivor.acquireLease('p', 3, 's2', HOUR, 1000)).allowed, true);
    assert.equal((await survivor.acquireLease('p', 3, 's3', HOUR, 1000)).allowed, true);
    assert.equal((await survivor.acquireLease('p', 3, 's4', HOUR, 1000)).allowed, false);
    await memory.close();
  });

  test('the primary refuses a method outside the forwarded table', async () => {
    const memory = new MemoryStore({ sweepIntervalMs: 0 });
    const link = channel();
    serveStore(memory, link.primary);
    const store = new IpcStore(link.worker);
    assert.ok(!(FORWARDED_METHODS as readonly string[]).includes('close'));
    await assert.rejects(store.call('close' as never, []), /no method close/);
    await memory.close();
  });
});
