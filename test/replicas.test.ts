// Two Sluice instances on one real redis-server: limits hold in total, and Redis going away follows the fail mode.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { redisCommand, startRedis } from './redis-server.ts';
import { chat, errorOf, post, settles, sleep, startGateway, startHeldBackend, until, type TestGateway } from './helpers.ts';

type Redis = Awaited<ReturnType<typeof startRedis>>;
const KEY = 'sk-shared-0123456789';
const auth = { authorization: `Bearer ${KEY}` };

/** Long, so a busy machine never trips it, and a check that waited on a dead Redis would hang visibly. */
const COMMAND_TIMEOUT_MS = 60_000;

function config(redisPort: number, failMode: 'fail_open' | 'fail_closed', keyLimits: string, prefix: string, litellmParams = 'model: mock/m, mock_tokens: 20, mock_token_interval_ms: 15'): string {
  return `
redis: { host: 127.0.0.1, port: ${redisPort}, fail_mode: ${failMode}, key_prefix: "${prefix}:", command_timeout_ms: ${COMMAND_TIMEOUT_MS} }
keys: [{ key: ${KEY}, alias: shared, ${keyLimits} }]
plugins: [auth.api_key, limit.key, route.round_robin]
model_list:
  - model_name: m
    litellm_params: { ${litellmParams} }
`;
}

describe('limits across replicas (real redis-server)', () => {
  let redis: Redis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  test('rpm: 60 holds for both instances together', async () => {
    const a = await startGateway(config(redis.port, 'fail_open', 'rpm: 60', 'rpm-test'));
    const b = await startGateway(config(redis.port, 'fail_open', 'rpm: 60', 'rpm-test'));
    try {
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => post(`${(i % 2 === 0 ? a : b).url}/v1/chat/completions`, chat('m'), auth)),
      );
      const ok = results.filter((r) => r.status === 200).length;
      const limited = results.filter((r) => r.status === 429).length;
      assert.equal(ok, 60);
      assert.equal(limited, 40);
      // Both instances served some and refused some: the count really is shared.
      const okA = results.filter((r, i) => i % 2 === 0 && r.status === 200).length;
      assert.ok(okA > 0 && okA < 60, `instance a served ${okA}`);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('max_parallel_requests: 2 holds across both instances', async () => {
    // The backend holds the admitted streams open until told, so all six are concurrent however slow the machine is.
    const backend = await startHeldBackend();
    const upstream = `model: openai/m, api_base: "${backend.url}"`;
    const a = await startGateway(config(redis.port, 'fail_open', 'max_parallel_requests: 2', 'par-test', upstream));
    const b = await startGateway(config(redis.port, 'fail_open', 'max_parallel_requests: 2', 'par-test', upstream));
    try {
      let answered = 0;
      const pending = Array.from({ length: 6 }, (_, i) =>
        post(`${(i % 2 === 0 ? a : b).url}/v1/chat/completions`, chat('m', { stream: true }), auth).then((r) => {
          answered++;
          return r;
        }),
      );
      await until('every request is either running or answered', () => backend.open + answered === 6);
      backend.release();
      const results = await Promise.all(pending);
      assert.equal(results.filter((r) => r.status === 200).length, 2);
      assert.equal(results.filter((r) => r.status === 429).length, 4);
      // Leases are released when the streams end (their ttl is 15 minutes, so only the release can free them).
      let after = 0;
      for (let i = 0; i < 400 && after !== 200; i++) {
        if (i > 0) await sleep(50);
        after = (await post(`${a.url}/v1/chat/completions`, chat('m'), auth)).status;
      }
      assert.equal(after, 200);
    } finally {
      await a.close();
      await b.close();
      await backend.close();
    }
  });

  test('Redis down: fail_open serves on local limits and says so; fail_closed answers 503; both recover', async () => {
    const open = await startGateway(config(redis.port, 'fail_open', 'rpm: 1000', 'fail-test'));
    const closed = await startGateway(config(redis.port, 'fail_closed', 'rpm: 1000', 'fail-test'));
    try {
      assert.equal((await post(`${open.url}/v1/chat/completions`, chat('m'), auth)).status, 200);
      assert.equal((await post(`${closed.url}/v1/chat/completions`, chat('m'), auth)).status, 200);

      await redis.stop();
      // Nothing waits long on a dead Redis: a wait on it would last the minute-long command timeout.
      const [openRes, closedRes] = await settles('nothing waits long on a dead Redis', (async () => [
        await post(`${open.url}/v1/chat/completions`, chat('m'), auth),
        await post(`${closed.url}/v1/chat/completions`, chat('m'), auth),
      ])());
      assert.equal(openRes.status, 200);
      assert.equal(closedRes.status, 503);
      assert.equal(errorOf(closedRes).code, 'shared_state_unavailable');
      const readyOpen = (await (await fetch(`${open.url}/health/readiness`)).json()) as { status: string };
      assert.equal(readyOpen.status, 'degraded');
      assert.equal((await fetch(`${closed.url}/health/readiness`)).status, 503);

      await redis.restart();
      for (let i = 0; i < 200; i++) {
        const res = await post(`${closed.url}/v1/chat/completions`, chat('m'), auth);
        if (res.status === 200) break;
        await sleep(100);
      }
      assert.equal((await post(`${closed.url}/v1/chat/completions`, chat('m'), auth)).status, 200, 'fail_closed recovers by itself');
      // fail_open recovers by itself too; its reconnect runs on its own schedule, so it is waited for.
      const readiness = async (): Promise<string> => ((await (await fetch(`${open.url}/health/readiness`)).json()) as { status: string }).status;
      for (let polls = 0; (await readiness()) !== 'healthy'; polls++) {
        assert.ok(polls < 200, 'fail_open readiness recovers by itself');
        await sleep(100);
      }
    } finally {
      await open.close();
      await closed.close();
    }
  });

  test('readiness sees a stalled Redis by itself, before any request times out on it', async () => {
    // A short command timeout for this test: a frozen Redis must show as soon as one ping goes unanswered.
    const stalling = (failMode: 'fail_open' | 'fail_closed'): string =>
      config(redis.port, failMode, 'rpm: 1000', 'stall-test').replace(`command_timeout_ms: ${COMMAND_TIMEOUT_MS}`, 'command_timeout_ms: 1000');
    const open = await startGateway(stalling('fail_open'));
    const closed = await startGateway(stalling('fail_closed'));
    try {
      const readiness = async (gw: TestGateway): Promise<{ code: number; status: string }> => {
        const res = await fetch(`${gw.url}/health/readiness`);
        return { code: res.status, status: ((await res.json()) as { status: string }).status };
      };
      for (const gw of [open, closed]) {
        for (let polls = 0; (await readiness(gw)).status !== 'healthy'; polls++) assert.ok(polls < 100, 'healthy before the stall');
      }
      // Redis is frozen (SIGSTOP); no request is sent meanwhile, so only readiness's own ping can notice.
      redis.pause();
      try {
        assert.deepEqual(await readiness(open), { code: 200, status: 'degraded' });
        assert.deepEqual(await readiness(closed), { code: 503, status: 'unhealthy' });
      } finally {
        redis.resume();
      }
      for (let polls = 0; (await readiness(open)).status !== 'healthy'; polls++) {
        assert.ok(polls < 400, 'readiness recovers once Redis answers again');
        await sleep(50);
      }
    } finally {
      await open.close();
      await closed.close();
    }
  });
});
