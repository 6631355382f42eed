// Two real Sluice processes sharing router state through a real redis-server: a deployment one replica cooled is
// avoided by the other, and requests one replica holds count for the other's least-busy routing.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chat, post, sleep, startCli, startHeldBackend, until, type RawResponse } from './helpers.ts';
import { startRedis, type RedisServer } from './redis-server.ts';
import { startOpenAISim } from './sim/openai-sim.ts';

type Cli = ReturnType<typeof startCli>;

/** Starts the gateway CLI on `yaml` and returns it with its base URL. */
async function replica(yaml: string, name: string): Promise<{ cli: Cli; url: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-router-sync-'));
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  const cli = startCli(file);
  const port = Number((await cli.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
  return { cli, url: `http://127.0.0.1:${port}` };
}

async function stop(...replicas: { cli: Cli }[]): Promise<void> {
  for (const { cli } of replicas) {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
}

interface HealthReport {
  unhealthy_endpoints: { model_id: string; reason: string }[];
}

/** Polls `/health` until `id` is reported cooling down. The deadline only catches a hang. */
async function untilCooled(url: string, id: string, model: string): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const report = (await (await fetch(`${url}/health?model=${model}`)).json()) as HealthReport;
    if (report.unhealthy_endpoints.some((e) => e.model_id === id && e.reason === 'cooldown')) return;
    if (performance.now() > deadline) throw new Error(`${url} never reported ${id} cooling down: ${JSON.stringify(report)}`);
    await sleep(20);
  }
}

describe('router state shared by two Sluice processes (real redis-server)', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  test('a deployment cooled by replica A is avoided by replica B', async () => {
    // s1 answers 429 with a ten-minute Retry-After: whoever sends it a request cools it down for the rest of the test.
    const s1 = await startOpenAISim({ status: 429, retryAfterSec: 600 });
    const s2 = await startOpenAISim();
    const yaml = `
redis: { host: 127.0.0.1, port: ${redis.port}, key_prefix: "cool:", router_sync_interval_ms: 100 }
plugins: [route.round_robin]
model_list:
  - model_name: m
    litellm_params: { model: openai/sim, api_base: "${s1.url}", api_key: sk-s1 }
    model_info: { id: s1 }
  - model_name: m
    litellm_params: { model: openai/sim, api_base: "${s2.url}", api_key: sk-s2 }
    model_info: { id: s2 }
`;
    const [a, b] = await Promise.all([replica(yaml, 'a'), replica(yaml, 'b')]);
    try {
      // Through A until s1 has had a request (A then cools it and retries the request on s2).
      let sentThroughA = 0;
      while (s1.stats.requests === 0) {
        assert.ok(sentThroughA < 50, 'round robin reaches s1 within a few requests');
        const res = await post(`${a.url}/v1/chat/completions`, chat('m'));
        assert.equal(res.status, 200, res.body.toString());
        sentThroughA++;
      }
      await untilCooled(b.url, 's1', 'm');

      // B never sent s1 anything; without the shared cooldown its round robin would send it every other request.
      const s1Before = s1.stats.requests;
      const s2Before = s2.stats.requests;
      const results: RawResponse[] = [];
      for (let i = 0; i < 10; i++) results.push(await post(`${b.url}/v1/chat/completions`, chat('m')));
      assert.deepEqual(results.map((r) => r.status), Array(10).fill(200));
      assert.equal(s1.stats.requests, s1Before, 'B sent nothing to the deployment A cooled');
      assert.equal(s2.stats.requests, s2Before + 10);
    } finally {
      await stop(a, b);
      await s1.close();
      await s2.close();
    }
  });

  test("least-busy on replica B counts the requests replica A holds open", async () => {
    const h1 = await startHeldBackend();
    const h2 = await startHeldBackend();
    // A deployment for A to cool once its streams are open: B seeing that cooldown proves B has taken in a
    // snapshot of A's made after the streams started, which carries A's in-flight counts.
    const marker = await startOpenAISim({ status: 429, retryAfterSec: 600 });
    const redisSection = `redis: { host: 127.0.0.1, port: ${redis.port}, key_prefix: "busy:", router_sync_interval_ms: 100 }`;
    const h1Entry = `  - model_name: m\n    litellm_params: { model: openai/held, api_base: "${h1.url}" }\n    model_info: { id: h1 }`;
    const h2Entry = `  - model_name: m\n    litellm_params: { model: openai/held, api_base: "${h2.url}" }\n    model_info: { id: h2 }`;
    const markerEntry = `  - model_name: marker\n    litellm_params: { model: openai/sim, api_base: "${marker.url}" }\n    model_info: { id: mk }`;
    // A knows only h1, so all its streams land there; B knows both.
    const [a, b] = await Promise.all([
      replica(`${redisSection}\nplugins: [route.least_busy]\nmodel_list:\n${h1Entry}\n${markerEntry}\n`, 'a'),
      replica(`${redisSection}\nplugins: [route.least_busy]\nmodel_list:\n${h1Entry}\n${h2Entry}\n${markerEntry}\n`, 'b'),
    ]);
    const pending: Promise<RawResponse>[] = [];
    try {
      for (let i = 0; i < 3; i++) pending.push(post(`${a.url}/v1/chat/completions`, chat('m', { stream: true })));
      await until('A holds three streams on h1', () => h1.open === 3);
      await post(`${a.url}/v1/chat/completions`, chat('marker'));
      await untilCooled(b.url, 'mk', 'marker');

      // B sees h1 with 3 in flight and h2 with none: both of its streams go to h2. On its own it would count
      // 0 and 0, and its second stream would go to whichever the first did not take.
      for (let i = 0; i < 2; i++) pending.push(post(`${b.url}/v1/chat/completions`, chat('m', { stream: true })));
      await until("B's two streams are open", () => h1.open + h2.open === 5);
      assert.equal(h2.open, 2);
      assert.equal(h1.requests, 3, 'h1 got only the streams A sent');
    } finally {
      h1.release();
      h2.release();
      const done = await Promise.all(pending);
      assert.deepEqual(done.map((r) => r.status), Array(done.length).fill(200));
      await stop(a, b);
      await h1.close();
      await h2.close();
      await marker.close();
    }
  });
});
