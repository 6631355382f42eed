// Retries, cooldowns, fallbacks and priority tiers: a dead or failing backend is never seen by clients.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { chat, closedAfterFile, errorOf, json, post, sleep, startGateway, startHeldBackend, until, untilAsync } from './helpers.ts';

const { sim, gateway, track } = closedAfterFile();

function deployment(name: string, url: string, id: string, extra = ''): string {
  return `  - model_name: ${name}\n    litellm_params: { model: openai/m, api_base: "${url}"${extra} }\n    model_info: { id: ${id} }\n`;
}

/** A backend that answers with `script[i]` for its i-th request (then 200s): status and optional headers. */
async function scripted(script: { status: number; headers?: Record<string, string>; body?: string }[]): Promise<{ url: string; hits: number[] }> {
  const hits: number[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    // Health probes (GET) are answered but not counted.
    if (req.method !== 'POST') return void res.end('{}');
    req.on('end', () => {
      const step = script[hits.length];
      hits.push(Date.now());
      if (step === undefined || step.status === 200) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'scripted ok' }, finish_reason: 'stop' }] }));
        return;
      }
      res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
      res.end(step.body ?? JSON.stringify({ error: { message: `scripted ${step.status}`, type: 'api_error', param: null, code: null } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  track({ close: () => new Promise<void>((r) => server.close(() => r())) });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

const DEAD = 'http://127.0.0.1:1';

describe('retries', () => {
  test('connection refused is retried on another deployment at once, and the dead one cools down after allowed_fails', async () => {
    const good = await sim();
    const gw = await gateway(`
plugins: [route.round_robin]
router_settings: { num_retries: 2, allowed_fails: 2, cooldown_time: 60, retry_after: 3600 }
model_list:
${deployment('g', DEAD, 'dead')}${deployment('g', good.url, 'good')}`);
    // retry_after puts every backoff above its 30 s cap, so a retry that backed off would give up with an error:
    // each retried 200 is a retry that went straight to the free deployment.
    let retries = 0;
    for (let i = 0; i < 8; i++) {
      const res = await post(`${gw.url}/v1/chat/completions`, chat('g'));
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-litellm-model-id'], 'good');
      retries += Number(res.headers['x-litellm-attempted-retries']);
    }
    assert.equal(retries, 3, 'no backoff while another deployment is free: each of the three failures was retried at once');
    assert.equal(good.stats.requests, 8);
    const health = (await (await fetch(`${gw.url}/health`)).json()) as { unhealthy_endpoints: { model_id: string; error: string; reason: string }[]; healthy_count: number };
    assert.equal(health.healthy_count, 1);
    assert.equal(health.unhealthy_endpoints[0]!.model_id, 'dead');
    assert.equal(health.unhealthy_endpoints[0]!.reason, 'cooldown');
    assert.match(health.unhealthy_endpoints[0]!.error, /ECONNREFUSED/);
    // Cooled after its third failure (allowed_fails: 2), so later requests never touch it.
    const retried = await post(`${gw.url}/v1/chat/completions`, chat('g'));
    assert.equal(retried.headers['x-litellm-attempted-retries'], '0');
  });

  test('a 500 is retried elsewhere; the response headers tell which deployment answered after how many retries', async () => {
    const failing = await sim({ status: 500 });
    const good = await sim();
    const gw = await gateway(`
plugins: [route.round_robin]
model_list:
${deployment('g', failing.url, 'failing')}${deployment('g', good.url, 'good')}`);
    const res = await post(`${gw.url}/v1/chat/completions`, chat('g'));
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-litellm-model-id'], 'good');
    assert.equal(res.headers['x-litellm-attempted-retries'], '1');
    assert.equal(res.headers['x-litellm-attempted-fallbacks'], '0');
    assert.equal(res.headers['x-litellm-model-api-base'], `${good.url}/v1`);
    assert.ok(Number(res.headers['x-litellm-response-duration-ms']) > 0);
    assert.ok(Number(res.headers['x-litellm-overhead-duration-ms']) >= 0);
  });

  test('retry_policy per error class: InternalServerErrorRetries 0 passes the 500 through untouched', async () => {
    const failing = await sim({ status: 500 });
    const good = await sim();
    const gw = await gateway(`
plugins: [route.round_robin]
router_settings: { retry_policy: { InternalServerErrorRetries: 0 } }
model_list:
${deployment('g', failing.url, 'failing')}${deployment('g', good.url, 'good')}`);
    const res = await post(`${gw.url}/v1/chat/completions`, chat('g'));
    assert.equal(res.status, 500);
    assert.equal(errorOf(res).type, 'server_error');
    assert.equal(good.stats.requests, 0);
  });

  test('a bad request (400) is not retried by default', async () => {
    const bad = await scripted([{ status: 400 }]);
    const good = await sim();
    const gw = await gateway(`
plugins: [route.round_robin]
model_list:
${deployment('g', bad.url, 'bad')}${deployment('g', good.url, 'good')}`);
    const res = await post(`${gw.url}/v1/chat/completions`, chat('g'));
    assert.equal(res.status, 400);
    assert.equal(good.stats.requests, 0);
  });

  test('a timeout is retried on another deployment', async () => {
    // A minute of latency: only the timeout can move the request on.
    const slow = await sim({ delayMs: 60_000 });
    const good = await sim();
    const gw = await gateway(`
plugins: [route.round_robin]
model_list:
${deployment('g', slow.url, 'slow', ', timeout: 0.2')}${deployment('g', good.url, 'good')}`);
    const res = await post(`${gw.url}/v1/chat/completions`, chat('g'));
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-litellm-model-id'], 'good');
    assert.equal(res.headers['x-litellm-attempted-retries'], '1', 'the slow one was tried first');
    await until('the slow backend saw its request abandoned', () => slow.stats.aborts === 1);
  });

  for (const [section, key] of [['router_settings', 'timeout'], ['litellm_settings', 'request_timeout'], ['litellm_settings', 'timeout']] as const) {
    test(`${section}.${key} is the timeout of deployments without their own`, async () => {
      const slow = await sim({ delayMs: 60_000 });
      const good = await sim();
      const gw = await gateway(`
plugins: [route.round_robin]
${section}: { ${key}: 0.2 }
model_list:
${deployment('g', slow.url, 'slow')}${deployment('g', good.url, 'good')}`);
      const res = await post(`${gw.url}/v1/chat/completions`, chat('g'));
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-litellm-model-id'], 'good');
      assert.equal(res.headers['x-litellm-attempted-retries'], '1', 'the slow one was tried first');
      await until('the slow backend saw its request abandoned', () => slow.stats.aborts === 1);
    });
  }

  test('router_settings.stream_timeout bounds the first byte of streams of deployments without their own', async () => {
    const slow = await sim({ delayMs: 60_000 });
    const good = await sim();
    const gw = await gateway(`
plugins: [route.round_robin]
router_settings: { stream_timeout: 0.2 }
model_list:
${deployment('g', slow.url, 'slow')}${deployment('g', good.url, 'good')}`);
    const res = await post(`${gw.url}/v1/chat/completions`, chat('g', { stream: true }));
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-litellm-model-id'], 'good');
    await until('the slow backend saw its request abandoned', () => slow.stats.aborts === 1);
  });

  test('with no other deployment free, the retry waits with backoff that honours Retry-After', async () => {
    const flaky = await scripted([{ status: 503, headers: { 'retry-after': '1' } }]);
    const gw = await gateway(`
model_list:
${deployment('g', flaky.url, 'only')}`);
    const res = await post(`${gw.url}/v1/chat/completions`, chat('g'));
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-litellm-attempted-retries'], '1');
    assert.equal(flaky.hits.length, 2);
    assert.ok(flaky.hits[1]! - flaky.hits[0]! >= 950, `waited ${flaky.hits[1]! - flaky.hits[0]!} ms`);
  });

  test('a 429 cools the deployment for its Retry-After; the request goes elsewhere', async () => {
    const limited = await sim({ status: 429, retryAfterSec: 600 });
    const good = await sim();
    const gw = await gateway(`
plugins: [route.round_robin]
model_list:
${deployment('g', limited.url, 'limited')}${deployment('g', good.url, 'good')}`);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g'))).status, 200);
    const before = limited.stats.requests;
    for (let i = 0; i < 4; i++) assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g'))).status, 200);
    assert.equal(limited.stats.requests, before, 'no traffic while cooling down');
    const health = (await (await fetch(`${gw.url}/health?model=g`)).json()) as { unhealthy_endpoints: { cooldown_remaining_s: number }[] };
    // Ten minutes, give or take the 20 s only a hang would take.
    const remaining = health.unhealthy_endpoints[0]!.cooldown_remaining_s;
    assert.ok(remaining > 580 && remaining <= 600, `cooldown_remaining_s ${remaining}`);
  });

  test('a stream that fails before its first byte is retried like any request', async () => {
    const cut = await sim({ dropAfterChunks: 0 });
    const good = await sim();
    const gw = await gateway(`
plugins: [route.round_robin]
model_list:
${deployment('g', cut.url, 'cut')}${deployment('g', good.url, 'good')}`);
    const res = await post(`${gw.url}/v1/chat/completions`, chat('g', { stream: true }));
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-litellm-model-id'], 'good');
    assert.ok(res.body.toString().endsWith('data: [DONE]\n\n'));
  });

  test('never a retry once a byte has reached the client', async () => {
    const cut = await sim({ dropAfterChunks: 2, tokens: 10 });
    const good = await sim();
    const gw = await gateway(`
plugins: [route.round_robin]
model_list:
${deployment('g', cut.url, 'cut')}${deployment('g', good.url, 'good')}`);
    const res = await post(`${gw.url}/v1/chat/completions`, chat('g', { stream: true }));
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-litellm-model-id'], 'cut');
    assert.doesNotMatch(res.body.toString(), /\[DONE\]/);
    assert.match(res.body.toString(), /upstream_connection_reset/);
    assert.equal(good.stats.requests, 0);
  });
});

describe('fallbacks and tiers', () => {
  test('fallbacks: when a group cannot serve, the next group does', async () => {
    const good = await sim({ text: 'from the fallback' });
    const gw = await gateway(`
router_settings:
  num_retries: 1
  fallbacks: [{ primary: [backup] }]
model_list:
${deployment('primary', DEAD, 'p1')}${deployment('backup', good.url, 'b1')}`);
    const res = await post(`${gw.url}/v1/chat/completions`, chat('primary'));
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-litellm-attempted-fallbacks'], '1');
    assert.equal(res.headers['x-litellm-model-group'], 'backup');
    assert.match(res.body.toString(), /from the fallback/);
  });

  test('context_window_fallbacks: a prompt over max_input_tokens goes straight to the larger model', async () => {
    const small = await sim();
    const large = await sim();
    const gw = await gateway(`
plugins: [route.round_robin]
router_settings:
  context_window_fallbacks: [{ small: [large] }]
model_list:
${deployment('small', small.url, 's1')}    model_info: { id: s1, max_input_tokens: 50 }
${deployment('large', large.url, 'l1')}`.replace('    model_info: { id: s1 }\n    model_info', '    model_info'));
    const short = await post(`${gw.url}/v1/chat/completions`, chat('small'));
    assert.equal(short.headers['x-litellm-model-id'], 's1');
    const long = await post(`${gw.url}/v1/chat/completions`, JSON.stringify({ model: 'small', messages: [{ role: 'user', content: 'word '.repeat(200) }] }));
    assert.equal(long.status, 200);
    assert.equal(long.headers['x-litellm-model-id'], 'l1');
    assert.equal(small.stats.requests, 1, 'the small model never saw the long prompt');
  });

  test('content_policy_fallbacks: a content-policy refusal (400) moves to the fallback group', async () => {
    const strict = await scripted([
      { status: 400, body: JSON.stringify({ error: { message: 'Flagged by content management policy', type: 'invalid_request_error', param: null, code: 'content_policy_violation' } }) },
      { status: 400, body: JSON.stringify({ error: { message: 'plain bad request', type: 'invalid_request_error', param: null, code: null } }) },
    ]);
    const lenient = await sim();
    const gw = await gateway(`
router_settings:
  content_policy_fallbacks: [{ strict: [lenient] }]
model_list:
${deployment('strict', strict.url, 'st')}${deployment('lenient', lenient.url, 'le')}`);
    const res = await post(`${gw.url}/v1/chat/completions`, chat('strict'));
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-litellm-model-id'], 'le');
    // An ordinary 400 is the client's problem: passed through, with its body intact.
    const plain = await post(`${gw.url}/v1/chat/completions`, chat('strict'));
    assert.equal(plain.status, 400);
    assert.equal(errorOf(plain).message, 'plain bad request');
  });

  test('order: tier 2 is used only while tier 1 has no available deployment', async () => {
    const primary = await sim();
    const secondary = await sim();
    const gw = await gateway(`
plugins: [route.round_robin]
router_settings: { allowed_fails: 0, cooldown_time: 60 }
model_list:
${deployment('g', primary.url, 'tier1', ', order: 1')}${deployment('g', secondary.url, 'tier2', ', order: 2')}`);
    for (let i = 0; i < 5; i++) assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g'))).headers['x-litellm-model-id'], 'tier1');
    assert.equal(secondary.stats.requests, 0);
    primary.knobs.status = 500;
    for (let i = 0; i < 5; i++) {
      const res = await post(`${gw.url}/v1/chat/completions`, chat('g'));
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-litellm-model-id'], 'tier2');
    }
  });

  test('503 when nothing can serve says why and carries the last upstream error', async () => {
    const gw = await gateway(`
router_settings: { num_retries: 1, allowed_fails: 0, cooldown_time: 60 }
model_list:
${deployment('g', DEAD, 'd1')}${deployment('g', 'http://127.0.0.1:2', 'd2')}`);
    const first = await post(`${gw.url}/v1/chat/completions`, chat('g'));
    assert.equal(first.status, 502, 'the last attempt\'s own error when retries run out');
    const res = await post(`${gw.url}/v1/chat/completions`, chat('g'));
    assert.equal(res.status, 503);
    const error = errorOf(res);
    assert.equal(error.code, 'no_deployment_available');
    assert.match(error.message, /of 2 deployments, 2 cooling down/);
    assert.match(error.message, /ECONNREFUSED/);
    assert.ok(Number(res.headers['retry-after']) > 0);
  });

  test('max_parallel_requests keeps extra requests off a busy deployment', async () => {
    // The slow one holds its streams until released: it stays busy while all the others are routed.
    const slow = await startHeldBackend();
    track(slow);
    const other = await sim();
    const gw = await gateway(`
plugins: [route.round_robin]
model_list:
${deployment('g', slow.url, 'slow', ', max_parallel_requests: 1')}${deployment('g', other.url, 'other')}`);
    let answered = 0;
    const pending = Array.from({ length: 6 }, () =>
      post(`${gw.url}/v1/chat/completions`, chat('g', { stream: true })).then((r) => {
        answered++;
        return r;
      }),
    );
    await until('every request is answered or held', () => answered + slow.open === 6);
    slow.release();
    const results = await Promise.all(pending);
    assert.ok(results.every((r) => r.status === 200));
    assert.equal(slow.requests, 1);
    assert.equal(other.stats.requests, 5);
    void json;
  });
});

describe('a request that breaks the attempt loop fails alone', () => {
  test('a deeply nested body through a fallback to another upstream model is a 400 naming the limit; the gateway keeps serving', async () => {
    const backup = await sim({ text: 'from the fallback' });
    // The first attempt forwards the client's bytes; the fallback's other upstream model used to re-encode them.
    const gw = await gateway(`
router_settings: { num_retries: 0, fallbacks: [{ primary: [backup] }] }
model_list:
  - model_name: primary
    litellm_params: { model: openai/primary, api_base: "${DEAD}" }
  - model_name: backup
    litellm_params: { model: openai/other, api_base: "${backup.url}" }
`);
    const depth = 6000;
    const deep = `{"model":"primary","messages":[{"role":"user","content":"hi"}],"extra":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const res = await post(`${gw.url}/v1/chat/completions`, deep);
    assert.equal(res.status, 400);
    assert.equal(errorOf(res).code, 'invalid_json');
    assert.match(errorOf(res).message, /limit of 128 levels/);
    assert.notEqual(backup.stats.lastRequest?.method, 'POST', 'refused before any attempt');
    const next = await post(`${gw.url}/v1/chat/completions`, chat('primary'));
    assert.equal(next.status, 200);
    assert.match(next.body.toString(), /from the fallback/);
  });

  test('a throw in undici\'s error callback or in the backoff timer is a 500 for that request; the next one is served', async () => {
    // A routing plugin that fails on its second pick of a request: the retry after a refused connection (called
    // from undici's error callback), or the pick after a backoff (called from a timer).
    const dir = mkdtempSync(join(tmpdir(), 'sluice-failover-'));
    const plugin = join(dir, 'second-pick-fails.ts');
    writeFileSync(
      plugin,
      `import { definePlugin } from ${JSON.stringify(join(import.meta.dirname, '..', 'core', 'plugin', 'api.ts'))};
const picked = new WeakSet<object>();
export default definePlugin({
  id: 'test.second_pick_fails',
  create() {
    return {
      route(ctx, candidates) {
        if (ctx.headers['x-break'] === undefined) return undefined;
        if (picked.has(ctx)) throw new Error('second pick');
        picked.add(ctx);
        return candidates.find((d) => d.id === 'dead' || d.id === 'flaky');
      },
    };
  },
});
`,
    );
    const good = await sim();
    const flaky = await scripted([{ status: 500 }]);
    const gw = await gateway(`
plugins: [{ path: ${JSON.stringify(plugin)} }]
router_settings: { num_retries: 1, retry_after: 0 }
model_list:
${deployment('g', DEAD, 'dead')}${deployment('g', good.url, 'good')}${deployment('one', flaky.url, 'flaky')}`);
    const inCallback = await post(`${gw.url}/v1/chat/completions`, chat('g'), { 'x-break': '1' });
    assert.equal(inCallback.status, 500);
    assert.equal(errorOf(inCallback).code, 'plugin_error');
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g'))).status, 200);

    const inTimer = await post(`${gw.url}/v1/chat/completions`, chat('one'), { 'x-break': '1' });
    assert.equal(flaky.hits.length, 1);
    assert.equal(inTimer.status, 500);
    assert.equal(errorOf(inTimer).code, 'plugin_error');
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('one'))).status, 200);
  });
});

describe('failover under load', () => {
  test('one backend killed mid-run, one failing, one slow: no failed request; the dead one is cooled and comes back', async () => {
    const victim = await sim();
    const failing = await sim({ status: 500 });
    const slow = await sim({ delayMs: 30 });
    const gw = await gateway(`
plugins: [route.round_robin]
router_settings: { num_retries: 2, allowed_fails: 3, cooldown_time: 1 }
model_list:
${deployment('g', victim.url, 'victim')}${deployment('g', failing.url, 'failing')}${deployment('g', slow.url, 'slow')}`);
    const port = victim.port;
    let failures = 0;
    let total = 0;
    const worker = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const res = await post(`${gw.url}/v1/chat/completions`, chat('g'));
        total++;
        if (res.status !== 200) failures++;
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, () => worker(40)));
    await until('the victim has served some of the load', () => victim.stats.requests > 0);
    await victim.close();
    const victimRequestsAtDeath = victim.stats.requests;
    // Watched while the load runs: each cooldown lasts 1 s, and a busy machine can take longer than that to finish
    // the load, so a look afterwards could miss it.
    const cooling = untilAsync('the dead backend is reported cooling down', async () => {
      const health = (await (await fetch(`${gw.url}/health`)).json()) as { unhealthy_endpoints: { model_id: string }[] };
      return health.unhealthy_endpoints.some((e) => e.model_id === 'victim');
    });
    await load;
    await cooling;
    assert.equal(failures, 0, `${failures} of ${total} requests failed`);

    // Restart on the same port: after the cooldown it takes traffic again.
    const reborn = await sim({ port });
    await sleep(1100);
    for (let i = 0; i < 12; i++) assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g'))).status, 200);
    assert.ok(reborn.stats.requests > 0, 'the restarted backend receives requests again');
    assert.ok(victimRequestsAtDeath > 0);
  });
});

describe('a fallback group passes the same checks as a direct request', () => {
  const MASTER = 'sk-master-0123456789';
  const ONLY_A = 'sk-only-a-0123456789';
  const keys = `general_settings: { master_key: ${MASTER} }\nkeys: [{ key: ${ONLY_A}, alias: only-a, models: [a, c] }]`;
  const as = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
  const overflow = { status: 400, body: JSON.stringify({ error: { message: "This model's maximum context length is 50 tokens", type: 'invalid_request_error', param: null, code: 'context_length_exceeded' } }) };

  test('context_window_fallbacks: a key allowed only `a` gets a\'s own error for a long prompt, never an answer from `b`', async () => {
    const a = await scripted([overflow, overflow]);
    const b = await sim({ text: 'from b' });
    const gw = await gateway(`
${keys}
plugins: [auth.api_key, limit.key, route.round_robin]
router_settings:
  context_window_fallbacks: [{ a: [b] }]
model_list:
${deployment('a', a.url, 'a1')}    model_info: { id: a1, max_input_tokens: 50 }
${deployment('b', b.url, 'b1')}`.replace('    model_info: { id: a1 }\n    model_info', '    model_info'));
    const long = JSON.stringify({ model: 'a', messages: [{ role: 'user', content: 'word '.repeat(200) }] });
    const refused = await post(`${gw.url}/v1/chat/completions`, long, as(ONLY_A));
    assert.equal(refused.status, 400);
    assert.match(errorOf(refused).message, /maximum context length/);
    assert.equal(b.stats.requests, 0, 'b never served the key that may not use it');
    assert.equal(a.hits.length, 1);
    // The master key may use b: the same prompt goes there.
    const allowed = await post(`${gw.url}/v1/chat/completions`, long, as(MASTER));
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['x-litellm-model-group'], 'b');
  });

  test('fallbacks: when `a` fails, a key not allowed `b` gets a\'s own error (an answer or a dead backend), not `b`', async () => {
    const a = await sim({ status: 500 });
    const b = await sim({ text: 'from b' });
    const gw = await gateway(`
${keys}
plugins: [auth.api_key, limit.key, route.round_robin]
router_settings: { num_retries: 0, allowed_fails: 100, fallbacks: [{ a: [b] }, { c: [b] }] }
model_list:
${deployment('a', a.url, 'a1')}${deployment('b', b.url, 'b1')}${deployment('c', DEAD, 'c1')}`);
    for (let i = 0; i < 3; i++) {
      const res = await post(`${gw.url}/v1/chat/completions`, chat('a'), as(ONLY_A));
      assert.equal(res.status, 500);
      assert.equal(errorOf(res).type, 'server_error');
    }
    const dead = await post(`${gw.url}/v1/chat/completions`, chat('c'), as(ONLY_A));
    assert.equal(dead.status, 502);
    assert.match(errorOf(dead).message, /ECONNREFUSED/);
    assert.equal(b.stats.requests, 0);
    for (const model of ['a', 'c']) {
      const allowed = await post(`${gw.url}/v1/chat/completions`, chat(model), as(MASTER));
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers['x-litellm-model-group'], 'b');
    }
  });

  test("fallbacks count against the fallback group's own limits: b at rpm 2 serves two fallbacks, then a's error", async () => {
    const a = await sim({ status: 500 });
    const b = await sim({ text: 'from b' });
    const gw = await gateway(`
plugins:
  - name: limit.key
    options: { models: { b: { rpm: 2 } } }
  - route.round_robin
router_settings: { num_retries: 0, allowed_fails: 100, fallbacks: [{ a: [b] }] }
model_list:
${deployment('a', a.url, 'a1')}${deployment('b', b.url, 'b1')}`);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(`${gw.url}/v1/chat/completions`, chat('a'))).status);
    assert.deepEqual(statuses, [200, 200, 500, 500, 500, 500]);
    assert.equal(b.stats.requests, 2);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('b'))).status, 429, 'the fallbacks used up b\'s minute');
  });

  test('a main group cooling down sends its requests to the fallback group, not a 503', async () => {
    const a = await sim({ status: 500 });
    const b = await sim({ text: 'from b' });
    const gw = await gateway(`
plugins: [route.round_robin]
router_settings: { num_retries: 0, allowed_fails: 1, cooldown_time: 60, fallbacks: [{ a: [b] }] }
model_list:
${deployment('a', a.url, 'a1')}${deployment('b', b.url, 'b1')}`);
    for (let i = 0; i < 6; i++) {
      const res = await post(`${gw.url}/v1/chat/completions`, chat('a'));
      assert.equal(res.status, 200, `request ${i + 1}`);
      assert.equal(res.headers['x-litellm-model-group'], 'b');
    }
    assert.equal(a.stats.requests, 2, 'a cooled down after its second failure');
    assert.equal(b.stats.requests, 6);
  });
});
