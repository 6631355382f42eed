// Strategies through a real listener: the core keeps in-flight counts and latency that the routers read.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { request } from 'node:http';
import { chat, post, sleep, startGateway, type TestGateway } from '../../test/helpers.ts';
import { startOpenAISim, type Sim } from '../../test/sim/openai-sim.ts';

const open: { close(): Promise<void> }[] = [];
after(async () => {
  await Promise.all(open.map((o) => o.close()));
});

async function sims(n: number): Promise<Sim[]> {
  const list = await Promise.all(Array.from({ length: n }, () => startOpenAISim()));
  open.push(...list);
  return list;
}

async function gateway(router: string, backends: Sim[]): Promise<TestGateway> {
  const gw = await startGateway(`
plugins: [${router}]
model_list:
${backends.map((s, i) => `  - model_name: g\n    litellm_params: { model: openai/m, api_base: ${s.url} }\n    model_info: { id: b${i} }`).join('\n')}
`);
  open.push(gw);
  return gw;
}

/** Opens a stream and keeps it open until the returned function is called. */
function holdStream(url: string): Promise<{ id: string; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.once('data', () => resolve({ id: String(res.headers['x-litellm-model-id']), close: () => req.destroy() }));
    });
    req.on('error', () => undefined);
    req.setTimeout(5000, () => reject(new Error('no stream')));
    req.end(chat('g', { stream: true }));
  });
}

describe('routing through the gateway', () => {
  test('least-busy sends new requests away from a server holding long streams', async () => {
    const backends = await sims(2);
    for (const s of backends) {
      s.knobs.chunkIntervalMs = 200;
      s.knobs.tokens = 50;
    }
    const gw = await gateway('least-busy', backends);
    // Each new stream goes where fewer are open: the 2nd and 4th must land opposite the 1st and 3rd.
    const held = [];
    for (let i = 0; i < 5; i++) held.push(await holdStream(gw.url));
    assert.notEqual(held[0]!.id, held[1]!.id);
    assert.notEqual(held[2]!.id, held[3]!.id);
    // Five streams split 3:2; a short request goes to the server holding two.
    const counts = new Map<string, number>();
    for (const h of held) counts.set(h.id, (counts.get(h.id) ?? 0) + 1);
    const lighter = [...counts.entries()].sort((a, b) => a[1] - b[1])[0]![0];
    for (const s of backends) s.knobs.chunkIntervalMs = 0;
    const res = await post(`${gw.url}/v1/chat/completions`, chat('g'));
    assert.equal(res.headers['x-litellm-model-id'], lighter);
    for (const h of held) h.close();
  });

  test('latency-based moves load off a server made slow', async () => {
    const backends = await sims(2);
    const gw = await gateway('latency-based-routing', backends);
    for (let i = 0; i < 10; i++) await post(`${gw.url}/v1/chat/completions`, chat('g'));
    backends[0]!.knobs.delayMs = 60;
    // A few requests to let the EWMA see the slowdown.
    for (let i = 0; i < 10; i++) await post(`${gw.url}/v1/chat/completions`, chat('g'));
    const before = backends.map((s) => s.stats.requests);
    for (let i = 0; i < 30; i++) await post(`${gw.url}/v1/chat/completions`, chat('g'));
    const slowShare = (backends[0]!.stats.requests - before[0]!) / 30;
    assert.ok(slowShare <= 0.1, `the slow server still got ${(slowShare * 100).toFixed(0)}% of requests`);
  });

  test('weighted 1:2 through the gateway gives exactly 1:2', async () => {
    const backends = await sims(2);
    const gw = await startGateway(`
plugins: [weighted]
model_list:
  - model_name: g
    litellm_params: { model: openai/m, api_base: ${backends[0]!.url}, weight: 1 }
  - model_name: g
    litellm_params: { model: openai/m, api_base: ${backends[1]!.url}, weight: 2 }
`);
    open.push(gw);
    for (let i = 0; i < 30; i++) await post(`${gw.url}/v1/chat/completions`, chat('g'));
    assert.deepEqual(backends.map((s) => s.stats.requests), [10, 20]);
  });

  test('prefix-affinity keeps each conversation on one server as it grows', async () => {
    const backends = await sims(3);
    const gw = await gateway('prefix-affinity', backends);
    for (let c = 0; c < 6; c++) {
      const messages: { role: string; content: string }[] = [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: `conversation ${c}: first question` },
      ];
      const seen = new Set<unknown>();
      for (let turn = 0; turn < 4; turn++) {
        const res = await post(`${gw.url}/v1/chat/completions`, JSON.stringify({ model: 'g', messages }));
        seen.add(res.headers['x-litellm-model-id']);
        messages.push({ role: 'assistant', content: `answer ${turn}` }, { role: 'user', content: `follow-up ${turn}` });
      }
      assert.equal(seen.size, 1, `conversation ${c} moved between servers`);
    }
    await sleep(0);
  });
});
