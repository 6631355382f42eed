// Two Sluice instances on one real redis-server while every core is kept busy by other processes: the limits hold
// in total with the default command timeout, and with Redis frozen each instance admits only its share.
// Counts only: nothing here depends on how fast the machine is.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { RedisStore } from '../core/state/redis-store.ts';
import { startRedis, type RedisServer } from './redis-server.ts';
import { chat, post, startGateway, startHeldBackend, until, type RawResponse, type TestGateway } from './helpers.ts';

const KEY = 'sk-load-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
/** A second key, for concurrency alone, so its slots never refuse a request that tests the rpm. */
const PARALLEL_KEY = 'sk-load-parallel-0123456789';
const parallelAuth = { authorization: `Bearer ${PARALLEL_KEY}` };

/** No command_timeout_ms: the default is what has to hold under load. */
function config(redisPort: number, keyLimits: string, prefix: string, upstream = 'model: mock/m, mock_tokens: 2'): string {
  return `
redis: { host: 127.0.0.1, port: ${redisPort}, fail_mode: fail_open, key_prefix: "${prefix}:" }
keys: [{ key: ${KEY}, alias: load, ${keyLimits} }, { key: ${PARALLEL_KEY}, alias: parallel, max_parallel_requests: 2 }]
plugins: [auth.api_key, limit.key, route.round_robin]
model_list:
  - model_name: m
    litellm_params: { ${upstream} }
`;
}

function storeOf(gw: TestGateway): RedisStore {
  const store = gw.gateway.store;
  assert.ok(store instanceof RedisStore);
  return store;
}

function count(results: readonly RawResponse[], status: number): number {
  return results.filter((r) => r.status === status).length;
}

/** Sends `total` requests in concurrent bursts of `burst`, alternating between the instances. */
async function inBursts(instances: readonly TestGateway[], total: number, burst: number): Promise<RawResponse[]> {
  const results: RawResponse[] = [];
  for (let sent = 0; sent < total; sent += burst) {
    const wave = Array.from({ length: Math.min(burst, total - sent) }, (_, i) =>
      post(`${instances[(sent + i) % instances.length]!.url}/v1/chat/completions`, chat('m'), auth),
    );
    results.push(...(await Promise.all(wave)));
  }
  return results;
}

describe('limits across two replicas with every core busy (real redis-server)', () => {
  let redis: RedisServer;
  const spinners: ChildProcess[] = [];
  before(async () => {
    redis = await startRedis();
    for (let i = 0; i < availableParallelism(); i++) spinners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  });
  after(async () => {
    for (const spinner of spinners) spinner.kill('SIGKILL');
    redis.resume();
    await redis.stop();
  });

  test('rpm: 60, 150 requests in bursts of 10 across both: at most 60 admitted, the rest refused', async () => {
    const a = await startGateway(config(redis.port, 'rpm: 60', 'load-rpm'));
    const b = await startGateway(config(redis.port, 'rpm: 60', 'load-rpm'));
    try {
      const results = await inBursts([a, b], 150, 10);
      const ok = count(results, 200);
      assert.ok(ok <= 60, `${ok} admitted`);
      assert.equal(ok + count(results, 429), 150);
      // Both instances admitted some: the count is shared, not split.
      const okA = results.filter((r, i) => i % 2 === 0 && r.status === 200).length;
      assert.ok(okA > 0 && okA < ok, `instance a admitted ${okA} of ${ok}`);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('max_parallel_requests: 2, ten streams across both: exactly 2 run', async () => {
    const backend = await startHeldBackend();
    const upstream = `model: openai/m, api_base: "${backend.url}"`;
    const a = await startGateway(config(redis.port, 'max_parallel_requests: 2', 'load-par', upstream));
    const b = await startGateway(config(redis.port, 'max_parallel_requests: 2', 'load-par', upstream));
    try {
      let answered = 0;
      const pending = Array.from({ length: 10 }, (_, i) =>
        post(`${(i % 2 === 0 ? a : b).url}/v1/chat/completions`, chat('m', { stream: true }), auth).then((r) => {
          answered++;
          return r;
        }),
      );
      await until('every request is either running or answered', () => backend.open + answered === 10);
      assert.equal(backend.open, 2);
      backend.release();
      const results = await Promise.all(pending);
      assert.equal(count(results, 200), 2);
      assert.equal(count(results, 429), 8);
    } finally {
      await a.close();
      await b.close();
      await backend.close();
    }
  });

  test('Redis frozen: each instance admits its share, the limit divided by the two replicas', async () => {
    const backend = await startHeldBackend();
    const upstream = `model: openai/m, api_base: "${backend.url}"`;
    const a = await startGateway(config(redis.port, 'rpm: 60', 'load-share', upstream));
    const b = await startGateway(config(redis.port, 'rpm: 60', 'load-share', upstream));
    try {
      await until('both replicas to see each other', () => storeOf(a).replicas() === 2 && storeOf(b).replicas() === 2);
      redis.pause();
      try {
        // Streams held open: each instance's one concurrency slot (floor(2 ÷ 2)) is taken and stays taken.
        let answered = 0;
        const streams = Array.from({ length: 6 }, (_, i) =>
          post(`${(i % 2 === 0 ? a : b).url}/v1/chat/completions`, chat('m', { stream: true }), parallelAuth).then((r) => {
            answered++;
            return r;
          }),
        );
        await until('every stream is either running or answered', () => backend.open + answered === 6);
        assert.equal(backend.open, 2);
        backend.release();
        const streamed = await Promise.all(streams);
        assert.equal(count(streamed, 200), 2);
        assert.equal(count(streamed.filter((_, i) => i % 2 === 0), 200), 1, 'one stream on instance a');

        // rpm 60 ÷ 2 = 30 each.
        const results = await inBursts([a, b], 80, 10);
        assert.equal(count(results.filter((_, i) => i % 2 === 0), 200), 30);
        assert.equal(count(results.filter((_, i) => i % 2 === 1), 200), 30);
        assert.equal(count(results, 429), 20);
      } finally {
        redis.resume();
      }
    } finally {
      await a.close();
      await b.close();
      await backend.close();
    }
  });
});
