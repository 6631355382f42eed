// Spend and budgets on real gateways in front of the OpenAI simulator: the cost header and access-log figure, a key
// refused once it spent its max_budget (in the caller's language), /key/info, the metrics, and one budget shared by
// two instances through a real redis-server.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chat, closedAfterFile, errorOf, json, post, sleep, startGateway, type TestGateway } from './helpers.ts';
import { formatMessage } from '../plugins/localizer/catalogue.ts';
import { parsePrometheusText } from './prom-text.ts';
import { startRedis, type RedisServer } from './redis-server.ts';

const MASTER = 'sk-master-1234';
const KEY = 'sk-budget-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
const INPUT = 0.001;
const OUTPUT = 0.002;

const { sim, gateway } = closedAfterFile();

function config(apiBase: string, extra = ''): string {
  return `
general_settings: { master_key: ${MASTER} }
keys:
  - key: ${KEY}
    alias: budgeted
    max_budget: 0.05
    soft_budget: 0.02
    budget_duration: 30d
    metadata: { team_id: t1 }
plugins: [auth.api_key, spend, metrics, route.round_robin]
model_list:
  - model_name: g
    litellm_params: { model: openai/sim-model, api_base: ${apiBase}/v1, api_key: sk-up }
    model_info: { id: d1, input_cost_per_token: ${INPUT}, output_cost_per_token: ${OUTPUT} }
${extra}`;
}

/** What the simulator's answer cost, from its own usage. */
function costOf(body: Record<string, unknown>): number {
  const usage = body['usage'] as { prompt_tokens: number; completion_tokens: number };
  return usage.prompt_tokens * INPUT + usage.completion_tokens * OUTPUT;
}

async function keyInfo(gw: TestGateway): Promise<{ key: string; info: Record<string, unknown> }> {
  const res = await fetch(`${gw.url}/key/info`, { headers: auth });
  assert.equal(res.status, 200);
  return (await res.json()) as { key: string; info: Record<string, unknown> };
}

describe('spend and budgets (one instance)', () => {
  test('cost header and log figure; refused once max_budget is spent, in the caller\'s language; /key/info; metrics', async () => {
    const backend = await sim({ tokens: 5 });
    const gw = await gateway(config(backend.url));

    const first = await post(`${gw.url}/v1/chat/completions`, chat('g'), auth);
    assert.equal(first.status, 200, first.body.toString());
    const firstCost = costOf(json(first));
    assert.ok(firstCost > 0);
    assert.equal(Number(first.headers['x-litellm-response-cost']), Number(firstCost.toPrecision(12)));
    assert.equal(first.headers['x-litellm-key-spend'], '0');
    assert.equal(first.headers['x-litellm-key-max-budget'], '0.05');

    // Spend until the budget is gone: each request is admitted while the spend before it is under 0.05.
    let spent = firstCost;
    let served = 1;
    let softSeen = false;
    for (;;) {
      const res = await post(`${gw.url}/v1/chat/completions`, chat('g'), auth);
      if (spent >= 0.05) {
        assert.equal(res.status, 400, res.body.toString());
        assert.equal(errorOf(res).type, 'budget_exceeded');
        assert.equal(errorOf(res).code, 'budget_exceeded');
        assert.match(errorOf(res).message, /^Budget has been exceeded! Current cost: [0-9.]+, Max budget: 0\.05$/);
        break;
      }
      assert.equal(res.status, 200, res.body.toString());
      if (spent >= 0.02) {
        assert.equal(res.headers['x-litellm-key-soft-budget-exceeded'], 'true');
        softSeen = true;
      }
      spent += costOf(json(res));
      served++;
      assert.ok(served < 100, 'the budget ran out');
    }
    assert.ok(softSeen, 'the soft budget was passed before the hard one');

    const ja = await post(`${gw.url}/v1/chat/completions`, chat('g'), { ...auth, 'accept-language': 'ja' });
    assert.equal(ja.status, 400);
    const spendText = String(Number(spent.toPrecision(12)));
    assert.equal(errorOf(ja).message, formatMessage('SLUICE_BUDGET_EXCEEDED', 'ja', { spend: spendText, max_budget: '0.05' })!.message);

    const { key, info } = await keyInfo(gw);
    assert.equal(key, 'budgeted');
    assert.ok(Math.abs((info['spend'] as number) - spent) < 1e-9, `${String(info['spend'])} vs ${spent}`);
    assert.equal(info['max_budget'], 0.05);
    assert.equal(info['soft_budget'], 0.02);
    assert.equal(info['budget_duration'], '30d');
    assert.equal(info['team_id'], 't1');
    const reset = Date.parse(info['budget_reset_at'] as string);
    assert.equal(reset % (30 * 86_400_000), 0, 'a 30-day period boundary');

    const scrape = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER}` } });
    const metrics = parsePrometheusText(await scrape.text());
    const spendSamples = metrics.samples.filter((s) => s.name === 'litellm_spend_metric_total');
    assert.equal(spendSamples.length, 1);
    assert.equal(spendSamples[0]!.labels['api_key_alias'], 'budgeted');
    assert.equal(spendSamples[0]!.labels['team'], 't1');
    assert.equal(spendSamples[0]!.labels['model'], 'sim-model');
    assert.ok(Math.abs(spendSamples[0]!.value - spent) < 1e-9);
    const gauge = (name: string): number => metrics.samples.find((s) => s.name === name && s.labels['api_key_alias'] === 'budgeted')!.value;
    assert.equal(gauge('litellm_api_key_max_budget_metric'), 0.05);
    // The last (refused) request saw the whole spend.
    assert.ok(Math.abs(gauge('litellm_remaining_api_key_budget_metric') - (0.05 - spent)) < 1e-9);
  });

  test('a stream is charged from its usage event (no cost header: its headers leave first)', async () => {
    const backend = await sim({ tokens: 4 });
    const gw = await gateway(config(backend.url));
    const res = await post(`${gw.url}/v1/chat/completions`, chat('g', { stream: true }), auth);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-litellm-response-cost'], undefined);
    const prompt = JSON.parse(backend.stats.lastRequest!.body) as Record<string, unknown>;
    assert.deepEqual(prompt['stream_options'], { include_usage: true }, 'the gateway asked for usage');
    const spend = (await keyInfo(gw)).info['spend'] as number;
    // 4 completion tokens at OUTPUT, plus the prompt's tokens at INPUT: a whole number of INPUT steps above 0.008.
    const promptTokens = (spend - 4 * OUTPUT) / INPUT;
    assert.ok(promptTokens >= 1 && Math.abs(promptTokens - Math.round(promptTokens)) < 1e-6, String(spend));
  });
});

describe('spend shared by two instances (real redis-server)', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  test('what one instance spent counts against the budget on the other', async () => {
    const backend = await sim({ tokens: 5 });
    const shared = `redis: { host: 127.0.0.1, port: ${redis.port}, key_prefix: "spend-test:", command_timeout_ms: 60000 }`;
    const a = await startGateway(config(backend.url, shared));
    const b = await startGateway(config(backend.url, shared));
    try {
      let spent = 0;
      while (spent < 0.05) {
        const res = await post(`${a.url}/v1/chat/completions`, chat('g'), auth);
        assert.equal(res.status, 200, res.body.toString());
        spent += costOf(json(res));
      }
      // The last addition reaches Redis just after the answer: poll B until it reads all of it.
      let seen = 0;
      for (let polls = 0; Math.abs(seen - spent) >= 1e-9; polls++) {
        assert.ok(polls < 2000, `B saw ${seen} of ${spent}`);
        if (polls > 0) await sleep(10);
        seen = (await keyInfo(b)).info['spend'] as number;
      }
      const refused = await post(`${b.url}/v1/chat/completions`, chat('g'), auth);
      assert.equal(refused.status, 400, refused.body.toString());
      assert.equal(errorOf(refused).type, 'budget_exceeded');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
