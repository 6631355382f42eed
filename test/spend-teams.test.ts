// Team budgets (`teams:` with max_budget / soft_budget / budget_duration, LiteLLM's team fields) on real gateways in
// front of the OpenAI simulator: a team's keys share one budget, a key of another team is not touched, /team/info
// and the team gauges say where it stands, and two instances sharing Redis enforce one budget.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chat, closedAfterFile, errorOf, json, post, sleep, startGateway, type TestGateway } from './helpers.ts';
import { parsePrometheusText } from './prom-text.ts';
import { startRedis, type RedisServer } from './redis-server.ts';
import { parseConfig, ConfigError } from '../core/config/load.ts';
import { App } from '../core/app.ts';
import { STANDARD_MODULES } from '../plugins/standard.ts';
import { createLogger } from '../core/logger.ts';

const MASTER = 'sk-master-teams-1234';
const ALICE = 'sk-alice-0123456789';
const BOB = 'sk-bob-0123456789';
const CAROL = 'sk-carol-0123456789';
const INPUT = 0.001;
const OUTPUT = 0.002;
const TEAM_MAX = 0.05;

const { sim, gateway } = closedAfterFile();

function config(apiBase: string, extra = ''): string {
  return `
general_settings: { master_key: ${MASTER} }
keys:
  - key: ${ALICE}
    alias: alice
    metadata: { team_id: t1, team_alias: Team One }
  - key: ${BOB}
    alias: bob
    metadata: { team_id: t1, team_alias: Team One }
  - key: ${CAROL}
    alias: carol
    metadata: { team_id: t2 }
teams:
  - team_id: t1
    team_alias: Team One
    max_budget: ${TEAM_MAX}
    soft_budget: 0.02
    budget_duration: 30d
plugins: [auth.api_key, spend, metrics, route.round_robin]
model_list:
  - model_name: g
    litellm_params: { model: openai/sim-model, api_base: ${apiBase}/v1, api_key: sk-up }
    model_info: { id: d1, input_cost_per_token: ${INPUT}, output_cost_per_token: ${OUTPUT} }
${extra}`;
}

function costOf(body: Record<string, unknown>): number {
  const usage = body['usage'] as { prompt_tokens: number; completion_tokens: number };
  return usage.prompt_tokens * INPUT + usage.completion_tokens * OUTPUT;
}

const as = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

async function teamInfo(gw: TestGateway, key: string, query = ''): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${gw.url}/team/info${query}`, { headers: as(key) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('team budgets (one instance)', () => {
  test("a team's keys share its budget; another team's key is not touched; /team/info and the gauges follow", async () => {
    const backend = await sim({ tokens: 5 });
    const gw = await gateway(config(backend.url));
    // Alice and Bob take turns until the team's budget is gone.
    let spent = 0;
    let softSeen = false;
    let served = 0;
    for (;;) {
      const key = served % 2 === 0 ? ALICE : BOB;
      const res = await post(`${gw.url}/v1/chat/completions`, chat('g'), as(key));
      if (res.status === 400) {
        assert.equal(errorOf(res).type, 'budget_exceeded');
        assert.match(errorOf(res).message, /^Budget has been exceeded! Team=t1 Current cost: [0-9.]+, Max budget: 0\.05$/);
        break;
      }
      assert.equal(res.status, 200, res.body.toString());
      if (res.headers['x-litellm-team-soft-budget-exceeded'] === 'true') softSeen = true;
      spent += costOf(json(res));
      served++;
      assert.ok(served < 100, 'the budget ran out');
    }
    assert.ok(spent >= TEAM_MAX && served >= 2, 'both keys spent, and the team went over only with its last request');
    assert.ok(softSeen, 'the soft budget was passed before the hard one');
    // The other key of the team is refused too; a key of another team is served.
    const bob = await post(`${gw.url}/v1/chat/completions`, chat('g'), as(BOB));
    const alice = await post(`${gw.url}/v1/chat/completions`, chat('g'), as(ALICE));
    assert.deepEqual([alice.status, bob.status], [400, 400]);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g'), as(CAROL))).status, 200);

    const info = await teamInfo(gw, BOB);
    assert.equal(info.status, 200);
    assert.equal(info.body['team_id'], 't1');
    const teamInfoBody = info.body['team_info'] as Record<string, unknown>;
    assert.ok(Math.abs((teamInfoBody['spend'] as number) - spent) < 1e-9);
    assert.equal(teamInfoBody['max_budget'], TEAM_MAX);
    assert.equal(teamInfoBody['soft_budget'], 0.02);
    assert.equal(teamInfoBody['budget_duration'], '30d');
    assert.equal(teamInfoBody['team_alias'], 'Team One');
    assert.equal(Date.parse(teamInfoBody['budget_reset_at'] as string) % (30 * 86_400_000), 0);
    // A key reads its own team only; the master key any.
    assert.equal((await teamInfo(gw, CAROL, '?team_id=t1')).status, 403);
    assert.equal((await teamInfo(gw, MASTER, '?team_id=t1')).status, 200);
    assert.equal((await teamInfo(gw, MASTER)).status, 400, 'the master key has no team of its own');

    const scrape = await fetch(`${gw.url}/metrics`, { headers: as(MASTER) });
    const metrics = parsePrometheusText(await scrape.text());
    const gauge = (name: string): number[] => metrics.find(name, { team: 't1', team_alias: 'Team One' }).map((s) => s.value);
    assert.deepEqual(gauge('litellm_team_max_budget_metric'), [TEAM_MAX]);
    const [remaining] = gauge('litellm_remaining_team_budget_metric');
    assert.ok(Math.abs(remaining! - (TEAM_MAX - spent)) < 1e-9, `${remaining} vs ${TEAM_MAX - spent}`);
    assert.equal(metrics.find('litellm_team_max_budget_metric', { team: 't2' }).length, 0, 'a team without a budget has no gauge');
  });

  test('without a plugins: section, a team budget puts spend in the chain (a budget of 0 refuses at once)', async () => {
    const backend = await sim();
    const gw = await gateway(config(backend.url).replace(/plugins: .*\n/, '').replace(`max_budget: ${TEAM_MAX}`, 'max_budget: 0'));
    const refused = await post(`${gw.url}/v1/chat/completions`, chat('g'), as(ALICE));
    assert.equal(refused.status, 400, refused.body.toString());
    assert.equal(errorOf(refused).type, 'budget_exceeded');
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g'), as(CAROL))).status, 200);
  });

  test('the teams section is checked at load: unknown fields, bad amounts and durations, duplicates', async () => {
    const bad = config('http://127.0.0.1:9').replace(
      /teams:[\s\S]*?plugins:/,
      `teams:
  - team_id: t1
    max_budget: -1
    budget_duration: 3 days
    members: [a]
  - team_id: t1
plugins:`,
    );
    const loaded = parseConfig(bad, '/tmp/teams.yaml', {});
    await assert.rejects(App.create(loaded, STANDARD_MODULES, createLogger('silent')), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      const text = String((error as Error).message);
      assert.match(text, /teams\[0\]\.members: not a team field/);
      assert.match(text, /teams\[0\]\.max_budget: must be a number of USD, 0 or more/);
      assert.match(text, /budget_duration "3 days" is not a duration/);
      assert.match(text, /teams\[1\]\.team_id: "t1" is listed twice/);
      return true;
    });
  });
});

describe('a team budget shared by two instances (real redis-server)', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  test("what the team spent on one instance counts against its budget on the other, for the team's other key", async () => {
    const backend = await sim({ tokens: 5 });
    const shared = `redis: { host: 127.0.0.1, port: ${redis.port}, key_prefix: "teams-test:", command_timeout_ms: 60000 }`;
    const a = await startGateway(config(backend.url, shared));
    const b = await startGateway(config(backend.url, shared));
    try {
      let spent = 0;
      while (spent < TEAM_MAX) {
        const res = await post(`${a.url}/v1/chat/completions`, chat('g'), as(ALICE));
        assert.equal(res.status, 200, res.body.toString());
        spent += costOf(json(res));
      }
      // The last addition reaches Redis just after the answer: poll B until it reads all of it.
      let seen = 0;
      for (let polls = 0; Math.abs(seen - spent) >= 1e-9; polls++) {
        assert.ok(polls < 2000, `B saw ${seen} of ${spent}`);
        if (polls > 0) await sleep(10);
        seen = ((await teamInfo(b, BOB)).body['team_info'] as Record<string, number>)['spend']!;
      }
      const refused = await post(`${b.url}/v1/chat/completions`, chat('g'), as(BOB));
      assert.equal(refused.status, 400, refused.body.toString());
      assert.equal(errorOf(refused).type, 'budget_exceeded');
      assert.equal((await post(`${b.url}/v1/chat/completions`, chat('g'), as(CAROL))).status, 200);
    } finally {
      // Before Redis stops.
      await Promise.all([a.close(), b.close()]);
    }
  });
});
