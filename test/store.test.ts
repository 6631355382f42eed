// Shared-state stores: one behavioural suite run against MemoryStore, RedisStore on a real redis-server and
// RedisStore on a real one-node Redis Cluster; then what only Redis has: atomicity across replicas, idle keys
// expiring, cluster hash tags, and the fail modes while Redis is stopped or stalled.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { createLogger, type Logger } from '../core/logger.ts';
import type { LimitCheck, LimitDecision, SharedStore } from '../core/state/store.ts';
import { createStore, REDIS_CONFIG_SCHEMA, type RedisConfig } from '../core/state/create-store.ts';
import { MemoryStore } from '../core/state/memory-store.ts';
import { DEFAULT_KEY_PREFIX, FAILURES_BEFORE_DEGRADED, RedisStore, scriptKeys, STATE_UNAVAILABLE_MESSAGE } from '../core/state/redis-store.ts';
import { redisCommand, startRedis, type RedisServer } from './redis-server.ts';

const silent = createLogger('silent');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Fast reconnects and probes, so recovery tests take a fraction of a second. */
const TUNING = { reconnectMaxDelayMs: 100, probeIntervalMs: 50 };
/** Behaviour tests are about answers, not timeouts: a loaded CI machine must not push them into fail_open. */
const PATIENT = 10_000;

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('debug', 'text', (line) => lines.push(line.trim())), lines };
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

function between(value: number, low: number, high: number, what: string): void {
  assert.ok(value >= low && value <= high, `${what}: ${value} not in [${low}, ${high}]`);
}

/** Counts the commands a RedisStore sends to Redis from now on (its probes' PINGs aside). */
function countCommands(store: RedisStore): { readonly sent: number } {
  const client = (store as unknown as { client: { sendCommand(command: { name: string }, ...rest: unknown[]): unknown } }).client;
  const send = client.sendCommand.bind(client);
  const counter = { sent: 0 };
  client.sendCommand = (command, ...rest) => {
    if (command.name !== 'ping') counter.sent++;
    return send(command, ...rest);
  };
  return counter;
}

// ---------------------------------------------------------------------------------------------------------------
// The clock a behaviour test runs on.
//
// MemoryStore decides by the `now` it is given: its clock is a number the test moves, and every duration comes out
// exact. RedisStore ignores `now` and reads the server's TIME (so replicas with skewed clocks agree), so it cannot
// be handed a fake clock. There, time passing is made by moving the limit key's stored times and TTLs into the
// past (AGE_LUA), which the scripts cannot tell from time passing; real time only creeps on by what the calls
// take, and the test measures that creep rather than assuming it is small. The suite's durations are scaled by S
// (its "second" lasts 1000 s), so that no creep short of a hang changes a count.

/** The behaviour suite's time scale: durations ×S, rates ÷S. */
const S = 1000;

interface TestClock {
  /** The `now` to pass. */
  now(): number;
  /** As if `ms` passed for the limit key `key`. */
  pass(key: string, ms: number): Promise<void>;
  /** Called as each test begins. */
  restart(): void;
  /**
   * How far apart the store's time and the test's may have drifted since the test began: 0 for a fake clock; for
   * Redis, the real time the test has taken so far, +2 ms for ms rounding.
   */
  creep(): number;
}

function fakeClock(): TestClock {
  let now = 1_700_000_000_000;
  return {
    now: () => now,
    pass: async (_key, ms) => {
      now += ms;
    },
    restart: () => undefined,
    creep: () => 0,
  };
}

/** Moves every time stored under KEYS `ARGV[1]` ms into the past, their TTLs with them (a key whose TTL runs out goes). */
const AGE_LUA = `
local ms = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local ttl = redis.call('PTTL', key)
  if ttl > 0 and ttl <= ms then
    redis.call('DEL', key)
  elseif ttl ~= -2 then
    local kind = redis.call('TYPE', key)['ok']
    if kind == 'string' then
      redis.call('SET', key, string.format('%.3f', tonumber(redis.call('GET', key)) - ms), 'KEEPTTL')
    elseif kind == 'zset' then
      local entries = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
      for i = 1, #entries, 2 do redis.call('ZADD', key, string.format('%.3f', tonumber(entries[i + 1]) - ms), entries[i]) end
    end
    if ttl > 0 then redis.call('PEXPIRE', key, ttl - ms) end
  end
end
return 0
`;

function redisClock(port: () => number, prefix: string): TestClock {
  let began = performance.now();
  return {
    now: () => Date.now(),
    async pass(key, ms) {
      const { gcra, window, lease } = scriptKeys(prefix, key);
      const keys = [...gcra, ...window, ...lease];
      assert.equal(await redisCommand(port(), ['EVAL', AGE_LUA, String(keys.length), ...keys, String(ms)]), ':0\r\n');
    },
    restart: () => {
      began = performance.now();
    },
    creep: () => Math.ceil(performance.now() - began) + 2,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The behavioural suite: the store's own clock (see above), unique keys per test.

function behaviour(name: string, open: (logger: Logger) => SharedStore, clock: TestClock): void {
  describe(`${name}: behaviour`, { concurrency: 1 }, () => {
    let store: SharedStore;
    const log = capture();
    const key = (label: string): string => `${label}:${randomUUID()}`;
    const now = (): number => clock.now();
    /** A duration the store computed from its clock: `nominal`, give or take the creep (none on a fake clock). */
    const duration = (actual: number, nominal: number, what: string): void => {
      const creep = clock.creep();
      between(actual, nominal - creep, nominal + creep, what);
    };
    beforeEach(() => clock.restart());
    before(async () => {
      store = open(log.logger);
      if (store instanceof RedisStore) assert.equal(await store.connected(5000), true, log.lines.join('\n'));
    });
    after(async () => {
      await store.close();
      // The store stayed on Redis throughout: anything logged past 'connected' would be an outage.
      assert.deepEqual(log.lines.filter((l) => !l.includes('connected')), []);
    });

    test('GCRA 10 r/s burst 5 (time ×S): six pass at once, then refusal for ~100 ms, then one more', async () => {
      const k = key('gcra');
      const passed: LimitDecision[] = [];
      for (let i = 0; i < 6; i++) passed.push(await store.gcra(k, 10 / S, 5, now()));
      assert.deepEqual(
        passed.map((d) => [d.allowed, d.limit, d.remaining, d.retryAfterMs]),
        [5, 4, 3, 2, 1, 0].map((r) => [true, 6, r, 0]),
      );
      const refused = await store.gcra(k, 10 / S, 5, now());
      assert.equal(refused.allowed, false);
      assert.equal(refused.remaining, 0);
      // TAT is 600 ms past the first request; the 7th may pass at TAT − 5 × 100 ms.
      duration(refused.retryAfterMs, 100 * S, 'retryAfterMs');
      duration(refused.resetMs, 600 * S, 'resetMs');
      await clock.pass(k, refused.retryAfterMs);
      const again = await store.gcra(k, 10 / S, 5, now());
      assert.equal(again.allowed, true);
      assert.equal(again.remaining, 0);
      assert.equal((await store.gcra(k, 10 / S, 5, now())).allowed, false);
    });

    test('GCRA burst 0: one request per emission interval', async () => {
      const k = key('gcra0');
      const first = await store.gcra(k, 20 / S, 0, now());
      assert.deepEqual([first.allowed, first.limit, first.remaining, first.resetMs], [true, 1, 0, 50 * S]);
      const second = await store.gcra(k, 20 / S, 0, now());
      assert.equal(second.allowed, false);
      duration(second.retryAfterMs, 50 * S, 'retryAfterMs');
    });

    test('sliding window, limit 5 in 1 s (time ×S): exactly the oldest entry frees exactly one slot', async () => {
      const k = key('win');
      const first = await store.windowCheck(k, 5, 1000 * S, 1, now());
      assert.deepEqual([first.allowed, first.limit, first.remaining, first.resetMs], [true, 5, 4, 1000 * S]);
      await clock.pass(k, 300 * S);
      const second = await store.windowCheck(k, 5, 1000 * S, 1, now());
      assert.deepEqual([second.allowed, second.remaining], [true, 3]);
      for (const remaining of [2, 1, 0]) {
        const d = await store.windowCheck(k, 5, 1000 * S, 1, now());
        assert.deepEqual([d.allowed, d.remaining, d.retryAfterMs], [true, remaining, 0]);
      }
      const refused = await store.windowCheck(k, 5, 1000 * S, 1, now());
      assert.deepEqual([refused.allowed, refused.remaining], [false, 0]);
      // Room comes back when the first entry (300 ms older than the rest) leaves the window.
      duration(refused.retryAfterMs, 700 * S, 'retryAfterMs');
      duration(refused.resetMs, 1000 * S, 'resetMs (the newest entry is the 5th, just before)');
      await clock.pass(k, refused.retryAfterMs);
      assert.equal((await store.windowCheck(k, 5, 1000 * S, 1, now())).allowed, true);
      const next = await store.windowCheck(k, 5, 1000 * S, 1, now());
      assert.equal(next.allowed, false, 'only one entry expired, so only one slot came back');
      duration(next.retryAfterMs, 300 * S, 'retryAfterMs of the next refusal');
    });

    test('sliding window: no window of the length ever admits more than the limit (no 2x at an edge)', async () => {
      const k = key('edge');
      const windowMs = 250 * S;
      const limit = 5;
      const admitted: number[] = [];
      for (let elapsed = 0; elapsed < 3.2 * windowMs; elapsed += 7 * S) {
        const d = await store.windowCheck(k, limit, windowMs, 1, now());
        if (d.allowed) admitted.push(elapsed);
        await clock.pass(k, 7 * S);
      }
      assert.ok(admitted.length >= 2 * limit, `admitted ${admitted.length}: the window must keep admitting`);
      // On the test's time; the store's own may have run ahead of it by up to `creep` meanwhile.
      const creep = clock.creep();
      for (let i = 0; i < admitted.length; i++) {
        const inWindow = admitted.filter((t) => t >= admitted[i]! && t < admitted[i]! + windowMs - creep).length;
        assert.ok(inWindow <= limit, `${inWindow} admitted within ${windowMs} ms starting at #${i}`);
      }
    });

    test('costs (tokens): admit while the sum fits; cost 0 only reports; a cost above the limit never fits', async () => {
      const k = key('cost');
      const report = await store.windowCheck(k, 100, 1000 * S, 0, now());
      assert.deepEqual([report.allowed, report.remaining, report.resetMs], [true, 100, 0]);
      const a = await store.windowCheck(k, 100, 1000 * S, 60, now());
      assert.deepEqual([a.allowed, a.remaining], [true, 40]);
      const b = await store.windowCheck(k, 100, 1000 * S, 50, now());
      assert.deepEqual([b.allowed, b.remaining], [false, 0]);
      duration(b.retryAfterMs, 1000 * S, 'retryAfterMs');
      for (let i = 0; i < 3; i++) {
        const r = await store.windowCheck(k, 100, 1000 * S, 0, now());
        assert.deepEqual([r.allowed, r.remaining], [true, 40], 'a report records nothing');
      }
      const c = await store.windowCheck(k, 100, 1000 * S, 40, now());
      assert.deepEqual([c.allowed, c.remaining], [true, 0]);
      const full = await store.windowCheck(k, 100, 1000 * S, 0, now());
      assert.deepEqual([full.allowed, full.remaining], [true, 0]);
      assert.equal((await store.windowCheck(k, 100, 1000 * S, 1, now())).allowed, false);
      const huge = await store.windowCheck(key('huge'), 100, 1000 * S, 101, now());
      assert.deepEqual([huge.allowed, huge.retryAfterMs], [false, 1000 * S]);
    });

    test('windowAdd charges without a check, and the charge counts against later checks', async () => {
      const k = key('add');
      await store.windowAdd(k, 1000 * S, 70, now());
      assert.equal((await store.windowCheck(k, 100, 1000 * S, 0, now())).remaining, 30);
      assert.equal((await store.windowCheck(k, 100, 1000 * S, 31, now())).allowed, false);
      assert.equal((await store.windowCheck(k, 100, 1000 * S, 30, now())).allowed, true);
      await store.windowAdd(k, 1000 * S, 50, now());
      await store.windowAdd(k, 1000 * S, 0, now());
      const over = await store.windowCheck(k, 100, 1000 * S, 0, now());
      assert.deepEqual([over.allowed, over.remaining], [false, 0], '150 charged against 100: even a report is refused');
    });

    test('window entries expire: after the window, the full limit is back', async () => {
      const k = key('expire');
      for (let i = 0; i < 3; i++) assert.equal((await store.windowCheck(k, 3, 300 * S, 1, now())).allowed, true);
      assert.equal((await store.windowCheck(k, 3, 300 * S, 1, now())).allowed, false);
      await clock.pass(k, 320 * S);
      const back = await store.windowCheck(k, 3, 300 * S, 0, now());
      assert.deepEqual([back.allowed, back.remaining, back.resetMs], [true, 3, 0]);
    });

    test('checkLimits: the checks in order up to the first refusal, which gives back the leases the call took', async () => {
      const [lease, tokens, requests] = [key('cl-lease'), key('cl-tpm'), key('cl-rpm')];
      const checks = (id: string, fit: number): LimitCheck[] => [
        { lease, max: 2, leaseId: id, ttlMs: 10_000 * S },
        { window: tokens, limit: 100, windowMs: 600 * S, cost: 0, fit },
        { window: requests, limit: 2, windowMs: 600 * S, cost: 1 },
      ];
      const summary = (r: { allowed: boolean; decisions: readonly LimitDecision[] }): unknown => [r.allowed, r.decisions.map((d) => [d.allowed, d.remaining])];
      assert.deepEqual(summary(await store.checkLimits(checks('a', 10), now())), [true, [[true, 1], [true, 100], [true, 1]]]);
      await store.windowAdd(tokens, 600 * S, 95, now());
      // 10 tokens do not fit the 5 left: refused at the token window; b's slot is given back, no request counted.
      assert.deepEqual(summary(await store.checkLimits(checks('b', 10), now())), [false, [[true, 0], [true, 5]]]);
      assert.deepEqual(summary(await store.checkLimits(checks('b', 5), now())), [true, [[true, 0], [true, 5], [true, 0]]]);
      assert.deepEqual(summary(await store.checkLimits(checks('c', 0), now())), [false, [[false, 0]]], 'a and b hold both slots');
      await store.releaseLease(lease, 'b');
      assert.deepEqual(summary(await store.checkLimits(checks('c', 0), now())), [false, [[true, 0], [true, 5], [false, 0]]], 'the request window is full');
      assert.equal((await store.acquireLease(lease, 2, 'd', 10_000 * S, now())).allowed, true, "c's slot was given back");
      // A bad argument rejects as the single call would, and gives back the slot taken before it.
      const other = key('cl-other');
      await assert.rejects(
        store.checkLimits([{ lease: other, max: 1, leaseId: 'x', ttlMs: 10_000 * S }, { window: key('cl-bad'), limit: -1, windowMs: 1000, cost: 1 }], now()),
        RangeError,
      );
      assert.equal((await store.acquireLease(other, 1, 'y', 10_000 * S, now())).allowed, true);
    });

    test('leases, max 2: a third is refused; release frees one; re-acquiring renews; expiry frees them', async () => {
      const k = key('lease');
      const a = await store.acquireLease(k, 2, 'a', 10_000 * S, now());
      assert.deepEqual([a.allowed, a.limit, a.remaining, a.resetMs], [true, 2, 1, 10_000 * S]);
      const b = await store.acquireLease(k, 2, 'b', 10_000 * S, now());
      assert.deepEqual([b.allowed, b.remaining], [true, 0]);
      const c = await store.acquireLease(k, 2, 'c', 10_000 * S, now());
      assert.deepEqual([c.allowed, c.remaining], [false, 0]);
      duration(c.retryAfterMs, 10_000 * S, 'retryAfterMs (the earliest expiry)');
      assert.equal((await store.acquireLease(k, 2, 'b', 10_000 * S, now())).allowed, true, 'b renews its own lease');
      await store.releaseLease(k, 'a');
      await store.releaseLease(k, 'never-held');
      assert.equal((await store.acquireLease(k, 2, 'c', 10_000 * S, now())).allowed, true);
      assert.equal((await store.acquireLease(k, 2, 'd', 10_000 * S, now())).allowed, false);

      const e = key('lease-ttl');
      const x = await store.acquireLease(e, 2, 'x', 300 * S, now());
      assert.equal(x.allowed, true);
      assert.equal((await store.acquireLease(e, 2, 'y', 300 * S, now())).allowed, true);
      const z = await store.acquireLease(e, 2, 'z', 300 * S, now());
      assert.equal(z.allowed, false);
      duration(z.retryAfterMs, 300 * S, 'retryAfterMs');
      await clock.pass(e, 320 * S);
      const late = await store.acquireLease(e, 2, 'z', 300 * S, now());
      assert.deepEqual([late.allowed, late.remaining], [true, 1], 'x and y expired (a crashed replica)');
    });

    test('float counters (spend): additions sum exactly enough for money; a period past its end reads 0', async () => {
      const k = key('ctr');
      assert.equal(await store.counterGet(k, now()), 0);
      assert.ok(Math.abs((await store.counterAdd(k, 0.000125, now() + 60_000, now())) - 0.000125) < 1e-12);
      assert.ok(Math.abs((await store.counterAdd(k, 1.5, now() + 60_000, now())) - 1.500125) < 1e-12);
      assert.ok(Math.abs((await store.counterGet(k, now())) - 1.500125) < 1e-12);
      const never = key('ctr-forever');
      assert.equal(await store.counterAdd(never, 2, null, now()), 2);
      assert.equal(await store.counterGet(never, now()), 2);
      const ended = key('ctr-ended');
      await store.counterAdd(ended, 3, now() - 1, now());
      assert.equal(await store.counterGet(ended, now()), 0);
      await assert.rejects(store.counterAdd(k, Number.NaN, null, now()), RangeError);
    });

    test('bad arguments are configuration bugs: RangeError, never a refusal', async () => {
      await assert.rejects(store.gcra('k', 0, 1, now()), RangeError);
      await assert.rejects(store.gcra('k', 1, 1.5, now()), RangeError);
      await assert.rejects(store.windowCheck('k', 1, 0, 1, now()), RangeError);
      await assert.rejects(store.windowCheck('k', 1, 1000, -1, now()), RangeError);
      await assert.rejects(store.acquireLease('k', 0, 'id', 1000, now()), RangeError);
      assert.equal(store.health(), 'ok');
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------

describe('shared-state stores', { concurrency: true }, () => {
  let redis: RedisServer;
  let cluster: RedisServer;
  before(async () => {
    [redis, cluster] = await Promise.all([startRedis(), startRedis({ cluster: true })]);
  });
  after(async () => {
    await Promise.all([redis.stop(), cluster.stop()]);
  });

  const standalonePrefix = `t${randomUUID()}:`;
  behaviour('MemoryStore', () => new MemoryStore(), fakeClock());
  behaviour(
    'RedisStore (standalone)',
    (logger) => new RedisStore({ port: redis.port, key_prefix: standalonePrefix, command_timeout_ms: PATIENT }, logger, TUNING),
    redisClock(() => redis.port, standalonePrefix),
  );
  behaviour(
    'RedisStore (one-node cluster)',
    (logger) => new RedisStore({ cluster: [{ host: '127.0.0.1', port: cluster.port }], command_timeout_ms: PATIENT }, logger, TUNING),
    redisClock(() => cluster.port, DEFAULT_KEY_PREFIX),
  );

  describe('RedisStore across replicas', { concurrency: 1 }, () => {
    const stores: RedisStore[] = [];
    const replica = (prefix: string): RedisStore => {
      const store = new RedisStore({ url: redis.url, key_prefix: prefix, command_timeout_ms: PATIENT }, silent, TUNING);
      stores.push(store);
      return store;
    };
    after(() => Promise.all(stores.map((s) => s.close())));

    test('200 concurrent window checks from two replicas, limit 60: exactly 60 pass', async () => {
      const prefix = `race-${randomUUID()}:`;
      const [a, b] = [replica(prefix), replica(prefix)];
      const decisions = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).windowCheck('shared', 60, 10_000, 1, Date.now())),
      );
      assert.equal(decisions.filter((d) => d.allowed).length, 60);
      assert.equal(a.health(), 'ok');
      assert.equal(b.health(), 'ok');
    });

    test('two replicas racing for leases, max 2: exactly 2 held', async () => {
      const prefix = `lease-${randomUUID()}:`;
      const [a, b] = [replica(prefix), replica(prefix)];
      const decisions = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).acquireLease('shared', 2, `lease-${i}`, 10_000, Date.now())),
      );
      assert.equal(decisions.filter((d) => d.allowed).length, 2);
    });

    test('two replicas racing on GCRA, burst 9: exactly 10 pass', async () => {
      const prefix = `gcra-${randomUUID()}:`;
      const [a, b] = [replica(prefix), replica(prefix)];
      const decisions = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).gcra('shared', 0.05, 9, Date.now())));
      assert.equal(decisions.filter((d) => d.allowed).length, 10);
    });

    test("the caller's clock does not matter: Redis decides by its own time", async () => {
      const prefix = `clock-${randomUUID()}:`;
      const [a, b] = [replica(prefix), replica(prefix)];
      assert.equal((await a.windowCheck('k', 2, 10_000, 1, Date.now() + 3_600_000)).allowed, true);
      assert.equal((await b.windowCheck('k', 2, 10_000, 1, Date.now() - 3_600_000)).allowed, true);
      assert.equal((await a.windowCheck('k', 2, 10_000, 1, 0)).allowed, false);
    });

    test('idle keys vanish: every key carries a TTL no longer than its window, lease ttl or TAT', async () => {
      const prefix = `ttl-${randomUUID()}:`;
      const store = replica(prefix);
      await store.windowCheck('w', 10, 120, 3, Date.now());
      await store.gcra('g', 10, 2, Date.now());
      await store.acquireLease('l', 2, 'id', 120, Date.now());
      const keys = [...scriptKeys(prefix, 'w').window, ...scriptKeys(prefix, 'g').gcra, ...scriptKeys(prefix, 'l').lease];
      for (const k of keys) {
        const ttl = Number((await redisCommand(redis.port, ['PTTL', k])).slice(1));
        // -2: gone already (a slow machine got here after 120 ms), which is no longer than its window either.
        if (ttl !== -2) between(ttl, 1, 120, `PTTL ${k}`);
      }
      await sleep(150);
      for (const k of keys) assert.equal(await redisCommand(redis.port, ['EXISTS', k]), ':0\r\n', `${k} expired`);
    });

    test('trimming keeps the running sum exact (the ZSET and the sum agree)', async () => {
      const prefix = `sum-${randomUUID()}:`;
      const store = replica(prefix);
      for (let i = 0; i < 5; i++) await store.windowAdd('s', 100, 7, Date.now());
      await sleep(110);
      // A window of a minute: the three entries stay in it however slow the machine is.
      for (let i = 0; i < 3; i++) await store.windowAdd('s', 60_000, 5, Date.now());
      const [entries, sum] = scriptKeys(prefix, 's').window;
      assert.equal(await redisCommand(redis.port, ['ZCARD', entries]), ':3\r\n');
      assert.match(await redisCommand(redis.port, ['HGET', sum, 'sum']), /\r\n15\r\n$/);
      assert.equal((await store.windowCheck('s', 20, 60_000, 0, Date.now())).remaining, 5);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('MemoryStore, exact numbers on a synthetic clock', () => {
  test('GCRA follows the TAT arithmetic to the millisecond', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    for (let i = 0; i < 6; i++) assert.equal((await store.gcra('k', 10, 5, 1000)).allowed, true);
    assert.deepEqual(await store.gcra('k', 10, 5, 1000), { allowed: false, limit: 6, remaining: 0, retryAfterMs: 100, resetMs: 600 });
    assert.deepEqual(await store.gcra('k', 10, 5, 1099), { allowed: false, limit: 6, remaining: 0, retryAfterMs: 1, resetMs: 501 });
    assert.deepEqual(await store.gcra('k', 10, 5, 1100), { allowed: true, limit: 6, remaining: 0, retryAfterMs: 0, resetMs: 600 });
    // Idle for a long time: the full burst is back, not more.
    assert.equal((await store.gcra('k', 10, 5, 60_000)).remaining, 5);
    // A rate whose interval is not a whole number of ms (3/s → 333.3 ms) still passes on time.
    const third = new MemoryStore({ sweepIntervalMs: 0 });
    assert.equal((await third.gcra('t', 3, 0, 0)).allowed, true);
    assert.equal((await third.gcra('t', 3, 0, 333)).allowed, false);
    for (let i = 1; i <= 30; i++) assert.equal((await third.gcra('t', 3, 0, (i * 1000) / 3)).allowed, true, `request ${i}`);
  });

  test('sliding window at a window edge: a burst at the end of one window blocks the start of the next', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    for (let t = 995; t < 1000; t++) assert.equal((await store.windowCheck('k', 5, 1000, 1, t)).allowed, true);
    for (let t = 1000; t < 1995; t += 50) assert.equal((await store.windowCheck('k', 5, 1000, 1, t)).allowed, false, `t=${t}`);
    const refused = await store.windowCheck('k', 5, 1000, 1, 1500);
    assert.deepEqual([refused.retryAfterMs, refused.resetMs], [495, 499]);
    assert.equal((await store.windowCheck('k', 5, 1000, 1, 1994)).allowed, false);
    assert.equal((await store.windowCheck('k', 5, 1000, 1, 1995)).allowed, true);
    assert.equal((await store.windowCheck('k', 5, 1000, 1, 1995)).allowed, false);
  });

  test('retryAfter with costs: the time until enough old entries leave to make room', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    await store.windowAdd('k', 1000, 30, 0);
    await store.windowAdd('k', 1000, 30, 100);
    await store.windowAdd('k', 1000, 30, 200);
    // sum 90 of 100: cost 50 needs 40 freed → entries at 0 and 100 must go → 1100.
    assert.deepEqual(await store.windowCheck('k', 100, 1000, 50, 300), { allowed: false, limit: 100, remaining: 0, retryAfterMs: 800, resetMs: 900 });
    assert.equal((await store.windowCheck('k', 100, 1000, 50, 1099)).allowed, false);
    assert.deepEqual(await store.windowCheck('k', 100, 1000, 50, 1100), { allowed: true, limit: 100, remaining: 20, retryAfterMs: 0, resetMs: 1000 });
  });

  test('a clock stepping back keeps the log ordered', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    await store.windowCheck('k', 3, 1000, 1, 5000);
    await store.windowCheck('k', 3, 1000, 1, 4000);
    assert.equal((await store.windowCheck('k', 3, 1000, 1, 5999)).remaining, 0);
    assert.equal((await store.windowCheck('k', 3, 1000, 1, 6000)).remaining, 1, 'both entries leave at 6000');
  });

  test('leases leave in expiry order: the earliest sets retryAfterMs, the latest resetMs, as they are released', () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const take = (id: string, now: number, ttl = 100): LimitDecision => store.acquireLeaseSync('k', 3, id, ttl, now);
    assert.deepEqual(take('a', 0), { allowed: true, limit: 3, remaining: 2, retryAfterMs: 0, resetMs: 100 });
    take('b', 10);
    take('c', 20);
    assert.deepEqual(take('d', 30), { allowed: false, limit: 3, remaining: 0, retryAfterMs: 70, resetMs: 90 });
    store.releaseLeaseSync('k', 'c'); // the latest
    assert.deepEqual(take('d', 40), { allowed: true, limit: 3, remaining: 0, retryAfterMs: 0, resetMs: 100 });
    store.releaseLeaseSync('k', 'd');
    store.releaseLeaseSync('k', 'a'); // the earliest
    assert.deepEqual(take('e', 50), { allowed: true, limit: 3, remaining: 1, retryAfterMs: 0, resetMs: 100 });
    assert.deepEqual(take('f', 60), { allowed: true, limit: 3, remaining: 0, retryAfterMs: 0, resetMs: 100 });
    assert.deepEqual(take('g', 70), { allowed: false, limit: 3, remaining: 0, retryAfterMs: 40, resetMs: 90 }, 'b (expires at 110) is the earliest now');
    assert.deepEqual(take('b', 80), { allowed: true, limit: 3, remaining: 0, retryAfterMs: 0, resetMs: 100 }, 'b renews: it expires last');
    assert.deepEqual(take('g', 90), { allowed: false, limit: 3, remaining: 0, retryAfterMs: 60, resetMs: 90 }, 'e (150) is the earliest');
    assert.equal(take('g', 150).allowed, true, 'e expired at 150');
    assert.deepEqual(take('h', 159), { allowed: false, limit: 3, remaining: 0, retryAfterMs: 1, resetMs: 91 }, 'f expires at 160, g at 250');
    assert.equal(take('h', 160).allowed, true, 'f expired at 160');
  });

  test('leases taken with different TTLs (a reload changed lease_ttl) still expire in expiry order', () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const take = (id: string, ttl: number, now: number): LimitDecision => store.acquireLeaseSync('k', 3, id, ttl, now);
    take('long', 1000, 0);
    take('short', 100, 0);
    take('middle', 500, 0);
    assert.deepEqual(take('x', 100, 10), { allowed: false, limit: 3, remaining: 0, retryAfterMs: 90, resetMs: 990 }, 'short is first, long last');
    assert.deepEqual(take('x', 100, 100), { allowed: true, limit: 3, remaining: 0, retryAfterMs: 0, resetMs: 900 }, 'short expired at 100');
    assert.deepEqual(take('y', 100, 199), { allowed: false, limit: 3, remaining: 0, retryAfterMs: 1, resetMs: 801 }, 'x (200) expires before middle (500)');
    assert.deepEqual(take('y', 10, 500), { allowed: true, limit: 3, remaining: 1, retryAfterMs: 0, resetMs: 500 }, 'x and middle expired');
    assert.deepEqual(take('z', 10, 500), { allowed: true, limit: 3, remaining: 0, retryAfterMs: 0, resetMs: 500 });
    assert.deepEqual(take('w', 10, 505), { allowed: false, limit: 3, remaining: 0, retryAfterMs: 5, resetMs: 495 });
    store.releaseLeaseSync('k', 'long');
    assert.deepEqual(take('w', 10, 505), { allowed: true, limit: 3, remaining: 0, retryAfterMs: 0, resetMs: 10 }, 'with long released, the latest is w');
  });

  test('leases answer exactly as a plain walk over every lease, for random TTLs, clocks, renewals and releases', () => {
    // The reference: every lease of a key in a plain map, walked on each call (the store's former implementation).
    const reference = new Map<string, Map<string, number>>();
    const referenceAcquire = (key: string, max: number, id: string, ttl: number, now: number): LimitDecision => {
      let held = reference.get(key);
      if (held === undefined) reference.set(key, (held = new Map()));
      for (const [lease, expiry] of held) if (expiry <= now) held.delete(lease);
      const allowed = held.has(id) || held.size < max;
      if (allowed) held.set(id, now + ttl);
      const expiries = [...held.values()];
      const first = Math.min(...expiries);
      const last = Math.max(...expiries);
      return allowed
        ? { allowed, limit: max, remaining: max - held.size, retryAfterMs: 0, resetMs: Math.max(0, Math.ceil(last - now - 0.001)) }
        : { allowed, limit: max, remaining: 0, retryAfterMs: Math.max(1, Math.ceil(first - now - 0.001)), resetMs: Math.max(0, Math.ceil(last - now - 0.001)) };
    };
    let seed = 20_261_202;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    let now = 1_000_000;
    for (let step = 0; step < 20_000; step++) {
      // Mostly forward, now and then a step back (another replica's clock); TTLs mostly one value, sometimes not.
      now += random(10) === 0 ? -random(50) : random(20);
      const key = `k${random(3)}`;
      const id = `l${random(40)}`;
      if (random(3) === 0) {
        store.releaseLeaseSync(key, id);
        reference.get(key)?.delete(id);
        continue;
      }
      const ttl = random(8) === 0 ? 1 + random(400) : 200;
      const max = 1 + random(random(2) === 0 ? 4 : 30);
      assert.deepEqual(store.acquireLeaseSync(key, max, id, ttl, now), referenceAcquire(key, max, id, ttl, now), `step ${step}: ${key} ${id} ttl ${ttl} max ${max} at ${now}`);
      if (random(500) === 0) {
        store.sweep(now);
        for (const held of reference.values()) for (const [lease, expiry] of held) if (expiry <= now) held.delete(lease);
      }
    }
  });

  test('memory does not grow: expired keys are dropped lazily and by the sweep', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    for (let i = 0; i < 10_000; i++) {
      await store.gcra(`g${i}`, 100, 1, i);
      await store.windowCheck(`w${i}`, 10, 1000, 1, i);
      await store.acquireLease(`l${i}`, 1, 'id', 500, i);
    }
    assert.deepEqual(store.stats(), { gcra: 10_000, windows: 10_000, leases: 10_000 });
    await store.windowCheck('w0', 10, 1000, 0, 5000);
    await store.acquireLease('l0', 1, 'other', 10, 5000);
    await store.releaseLease('l0', 'other');
    assert.deepEqual(store.stats(), { gcra: 10_000, windows: 9_999, leases: 9_999 }, 'accessing an expired key drops it');
    store.sweep(20_000);
    assert.deepEqual(store.stats(), { gcra: 0, windows: 0, leases: 0 });

    // A long-lived key keeps a bounded log too (the spent prefix is compacted away).
    for (let t = 0; t < 100_000; t++) await store.windowCheck('busy', 1_000_000, 100, 1, t);
    const log = (store as unknown as { windows: Map<string, { times: number[] }> }).windows.get('busy')!;
    assert.ok(log.times.length < 400, `log holds ${log.times.length} entries for a 100-entry window`);
  });

  test('the periodic sweep runs on an unref timer and close() stops it', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 20 });
    await store.gcra('k', 1000, 0, 1);
    await store.windowCheck('later', 1, 10, 1, 10_000);
    await sleep(60);
    assert.deepEqual(store.stats(), { gcra: 0, windows: 1, leases: 0 }, 'the sweep uses the latest `now` callers passed');
    await store.close();
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('Redis keys and config', () => {
  /** Redis Cluster's rule: the part between the first `{` and the first `}` after it, if non-empty. */
  function hashTag(key: string): string | null {
    const open = key.indexOf('{');
    if (open < 0) return null;
    const close = key.indexOf('}', open + 1);
    if (close < 0 || close === open + 1) return null;
    return key.slice(open + 1, close);
  }

  test('every key a script touches carries the same non-empty hash tag, for any limit key', () => {
    const nasty = ['', 'a', '{', '}', '{}', '}{', 'a}b{c', '{user}', 'user:{42}:rpm', '%', '%7B', 'ключ', 'x'.repeat(300), 'a b\n'];
    const tags = new Set<string>();
    for (const prefix of ['sluice:', '', 'p:']) {
      for (const key of nasty) {
        const keys = scriptKeys(prefix, key);
        const all = [...keys.gcra, ...keys.window, ...keys.lease, ...keys.counter];
        const tag = hashTag(all[0]!);
        assert.ok(tag !== null && tag.length > 0, `${JSON.stringify(key)} has a hash tag`);
        for (const k of all) assert.equal(hashTag(k), tag, `${k} shares the tag of ${all[0]}`);
        assert.equal(new Set(all).size, all.length);
        if (prefix === 'sluice:') tags.add(tag);
      }
    }
    assert.equal(tags.size, nasty.length, 'distinct limit keys never share a tag');
  });

  test('a key prefix with braces is refused (it would break the hash tag)', () => {
    assert.throws(() => new RedisStore({ port: 1, key_prefix: 'a{b}:' }, silent), RangeError);
  });

  test('REDIS_CONFIG_SCHEMA: one of url / host / cluster, or none', () => {
    const validate = new Ajv({ strict: false }).compile(REDIS_CONFIG_SCHEMA);
    const ok: RedisConfig[] = [
      {},
      { url: 'redis://127.0.0.1:6379/0', password: 'x', fail_mode: 'fail_closed' },
      { url: 'rediss://cache.internal:6380', tls: { reject_unauthorized: false } },
      { host: 'redis', port: 6380, db: 2, username: 'u', password: 'p', tls: true, key_prefix: 'gw:', command_timeout_ms: 100 },
      { port: 6380 },
      { cluster: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7000 }], fail_mode: 'fail_open' },
    ];
    for (const config of ok) assert.equal(validate(config), true, `${JSON.stringify(config)}: ${JSON.stringify(validate.errors)}`);
    const bad: unknown[] = [
      { url: 'redis://a', host: 'b' },
      { url: 'redis://a', cluster: [{ host: 'b', port: 1 }] },
      { host: 'a', cluster: [{ host: 'b', port: 1 }] },
      { url: 'redis://a', port: 1 },
      { cluster: [{ host: 'b', port: 1 }], db: 1 },
      { cluster: [] },
      { url: 'http://a' },
      { key_prefix: 'a{' },
      { fail_mode: 'open' },
      { port: 70000 },
      { hosts: 'a' },
      { tls: { ca: 'x', verify: false } },
    ];
    for (const config of bad) assert.equal(validate(config), false, JSON.stringify(config));
  });

  test('createStore: no redis section → memory; a redis section → redis', async () => {
    const memory = await createStore(null, silent);
    assert.equal(memory.kind, 'memory');
    await memory.close();
    const redis = await createStore({ port: 1, command_timeout_ms: 20 }, silent);
    assert.equal(redis.kind, 'redis');
    await redis.close();
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('Redis unavailable: fail modes', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis.stop());

  test('Redis stopped: fail_open answers on local limits, fail_closed refuses; both come back by themselves', async () => {
    const openLog = capture();
    const closedLog = capture();
    // Patient commands: a busy machine must not time one out before Redis is stopped (that would be an outage too).
    const open = new RedisStore({ port: redis.port, fail_mode: 'fail_open', key_prefix: 'fo:', command_timeout_ms: PATIENT }, openLog.logger, TUNING);
    const closed = new RedisStore({ port: redis.port, fail_mode: 'fail_closed', key_prefix: 'fc:', command_timeout_ms: PATIENT }, closedLog.logger, TUNING);
    try {
      assert.equal((await open.windowCheck('k', 2, 10_000, 1, Date.now())).allowed, true);
      assert.equal((await closed.windowCheck('k', 2, 10_000, 1, Date.now())).allowed, true);
      assert.deepEqual([open.health(), closed.health()], ['ok', 'ok']);

      await redis.stop();
      await until(() => open.health() !== 'ok' && closed.health() !== 'ok', 20_000, 'both stores to notice');
      assert.deepEqual([open.health(), closed.health()], ['degraded', 'down']);

      // fail_open: a fresh local window (limit 2: two pass, the third is refused), each answer at once: nothing
      // is even sent to Redis.
      const openSent = countCommands(open);
      const closedSent = countCommands(closed);
      const local: boolean[] = [];
      for (let i = 0; i < 3; i++) local.push((await open.windowCheck('local', 2, 10_000, 1, Date.now())).allowed);
      assert.deepEqual(local, [true, true, false]);
      assert.equal((await open.gcra('g', 1, 0, Date.now())).allowed, true);
      assert.equal((await open.acquireLease('l', 1, 'a', 1000, Date.now())).allowed, true);
      await open.windowAdd('local', 10_000, 5, Date.now());
      await open.releaseLease('l', 'a');

      // fail_closed: SLUICE_STATE_UNAVAILABLE at once, for every check.
      for (const check of [
        () => closed.windowCheck('k', 2, 10_000, 1, Date.now()),
        () => closed.gcra('g', 1, 0, Date.now()),
        () => closed.acquireLease('l', 1, 'a', 1000, Date.now()),
      ]) {
        await assert.rejects(check(), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'SLUICE_STATE_UNAVAILABLE');
          assert.equal(err.message, STATE_UNAVAILABLE_MESSAGE);
          return true;
        });
      }
      // Writes after the fact have nothing to refuse: they do not throw.
      await closed.windowAdd('k', 10_000, 5, Date.now());
      await closed.releaseLease('l', 'a');
      assert.deepEqual([openSent.sent, closedSent.sent], [0, 0], 'while Redis is down, no call waits on it: none is sent');

      await redis.restart();
      await until(() => open.health() === 'ok' && closed.health() === 'ok', 20_000, 'both stores to reconnect');
      // Back on Redis (fresh, empty): shared state again, not the local windows.
      assert.equal((await open.windowCheck('local', 2, 10_000, 1, Date.now())).remaining, 1);
      assert.equal((await closed.windowCheck('k', 2, 10_000, 1, Date.now())).allowed, true);
      assert.match(await redisCommand(redis.port, ['EXISTS', scriptKeys('fc:', 'k').window[0]]), /:1/);

      // One warning on the way down, one info on the way back, however many calls failed in between.
      for (const { lines } of [openLog, closedLog]) {
        assert.equal(lines.filter((l) => l.startsWith('warn:')).length, 1, lines.join('\n'));
        assert.equal(lines.filter((l) => l.includes('reachable again')).length, 1, lines.join('\n'));
        assert.ok(lines.every((l) => !l.startsWith('error:')));
      }
    } finally {
      await Promise.all([open.close(), closed.close()]);
    }
  });

  test('Redis stalled (no replies): one timeout decides only its request; failures in a row degrade the store; a probe sees it return', async () => {
    const { logger, lines } = capture();
    // Half a second (the default): long enough that no call before the stall times out on a busy machine.
    const commandTimeoutMs = 500;
    const open = new RedisStore({ port: redis.port, fail_mode: 'fail_open', key_prefix: 'so:', command_timeout_ms: commandTimeoutMs }, logger, TUNING);
    const closed = new RedisStore({ port: redis.port, fail_mode: 'fail_closed', key_prefix: 'sc:', command_timeout_ms: commandTimeoutMs }, silent, TUNING);
    try {
      assert.deepEqual([await open.connected(20_000), await closed.connected(20_000)], [true, true]);
      await open.windowCheck('k', 5, 10_000, 1, Date.now());
      await closed.windowCheck('k', 5, 10_000, 1, Date.now());
      // The server is frozen until resumed; the connection stays up.
      redis.pause();
      try {
        // Nothing answers while it is frozen: only the command timeout can have ended the call. One slow reply
        // is decided for its request alone (local share, or refused); the store stays up.
        assert.equal((await open.windowCheck('k', 5, 10_000, 1, Date.now())).allowed, true);
        await assert.rejects(closed.gcra('g', 1, 0, Date.now()), { code: 'SLUICE_STATE_UNAVAILABLE' });
        assert.deepEqual([open.health(), closed.health()], ['ok', 'ok']);
        // FAILURES_BEFORE_DEGRADED in a row, over more than two timeouts: a stall, and the store degrades.
        for (let i = 1; i < FAILURES_BEFORE_DEGRADED; i++) {
          assert.equal((await open.windowCheck('k', 5, 10_000, 1, Date.now())).allowed, true);
          await assert.rejects(closed.gcra('g', 1, 0, Date.now()), { code: 'SLUICE_STATE_UNAVAILABLE' });
        }
        assert.deepEqual([open.health(), closed.health()], ['degraded', 'down']);
        const openSent = countCommands(open);
        // The local window holds the one admitted through Redis and the three answered locally: one slot left.
        assert.equal((await open.windowCheck('k', 5, 10_000, 1, Date.now())).allowed, true);
        assert.equal((await open.windowCheck('k', 5, 10_000, 1, Date.now())).allowed, false);
        assert.equal(openSent.sent, 0, 'once degraded, calls do not wait on Redis: nothing is sent to it');
      } finally {
        redis.resume();
      }
      await until(() => open.health() === 'ok' && closed.health() === 'ok', 20_000, 'the probe to see Redis answer again');
      assert.equal((await closed.gcra('g2', 1, 0, Date.now())).allowed, true);
      assert.equal(lines.filter((l) => l.startsWith('warn:')).length, 1, lines.join('\n'));
      assert.match(lines.find((l) => l.startsWith('warn:'))!, /timed out/i);
    } finally {
      await Promise.all([open.close(), closed.close()]);
    }
  });

  test('a reply that arrived while the event loop was blocked past the timeout is still used: no failure counted', async () => {
    const { logger, lines } = capture();
    const prefix = `lag-${randomUUID()}:`;
    const store = new RedisStore({ port: redis.port, key_prefix: prefix, command_timeout_ms: 100 }, logger, { ...TUNING, heartbeatIntervalMs: 60_000 });
    try {
      assert.equal(await store.connected(20_000), true);
      for (let i = 0; i < 3; i++) {
        const pending = store.windowCheck('k', 10, 60_000, 1, Date.now());
        // Blocked for three timeouts: Redis replies meanwhile, and the timer is due before that reply is read.
        const blockedUntil = performance.now() + 300;
        while (performance.now() < blockedUntil) {
          // busy
        }
        assert.equal((await pending).remaining, 9 - i);
      }
      assert.equal(store.health(), 'ok');
      assert.deepEqual(lines.filter((l) => /did not answer|unreachable/.test(l)), []);
    } finally {
      await store.close();
    }
  });

  test('without Redis, each replica admits its share: the limit divided by the replicas seen, counting what Redis admitted it', async () => {
    const prefix = `share-${randomUUID()}:`;
    const tuning = { ...TUNING, heartbeatIntervalMs: 50 };
    const options = { port: redis.port, fail_mode: 'fail_open', key_prefix: prefix, command_timeout_ms: 300 } as const;
    const [a, b, c] = [new RedisStore(options, silent, tuning), new RedisStore(options, silent, tuning), new RedisStore(options, silent, tuning)];
    try {
      await until(() => [a, b, c].every((s) => s.replicas() === 3), 20_000, 'the three replicas to see each other');
      await c.close();
      await until(() => a.replicas() === 2 && b.replicas() === 2, 20_000, 'a closed replica to leave the count');
      // Before the stall, a took 3 of 10 through Redis and holds one of 3 leases.
      for (let i = 0; i < 3; i++) assert.equal((await a.windowCheck('rpm', 10, 60_000, 1, Date.now())).allowed, true);
      assert.equal((await a.acquireLease('conc', 3, 'a-0', 60_000, Date.now())).allowed, true);
      redis.pause();
      try {
        const admitted = async (store: RedisStore): Promise<number> => {
          const decisions = await Promise.all(Array.from({ length: 10 }, () => store.windowCheck('rpm', 10, 60_000, 1, Date.now())));
          return decisions.filter((d) => d.allowed).length;
        };
        // Share 10 ÷ 2 = 5: a has used 3 of it, b none.
        assert.deepEqual([await admitted(a), await admitted(b)], [2, 5]);
        const leases = async (store: RedisStore, tag: string): Promise<number> => {
          const decisions = await Promise.all(Array.from({ length: 4 }, (_, i) => store.acquireLease('conc', 3, `${tag}-${i + 1}`, 60_000, Date.now())));
          return decisions.filter((d) => d.allowed).length;
        };
        // Share floor(3 ÷ 2) = 1: a holds it already.
        assert.deepEqual([await leases(a, 'a'), await leases(b, 'b')], [0, 1]);
        assert.deepEqual([a.replicas(), b.replicas()], [2, 2], 'the last count is kept while Redis is away');
      } finally {
        redis.resume();
      }
      // The timed-out acquires still ran once Redis woke; slots it granted to requests answered "no" are given back,
      // so Redis ends up holding only leases that really run (a-0 before the stall, b-1 granted locally).
      const [leaseKey] = scriptKeys(prefix, 'conc').lease;
      const stray = async (): Promise<string[]> =>
        [...(await redisCommand(redis.port, ['ZRANGE', leaseKey, '0', '-1'])).matchAll(/\r\n([ab]-\d)(?=\r\n)/g)]
          .map((m) => m[1]!)
          .filter((id) => id !== 'a-0' && id !== 'b-1');
      for (let polls = 0; (await stray()).length > 0; polls++) {
        assert.ok(polls < 1000, `leases still held in Redis for refused requests: ${(await stray()).join(', ')}`);
        await sleep(20);
      }
      assert.match(await redisCommand(redis.port, ['ZRANGE', leaseKey, '0', '-1']), /\r\na-0\r\n/);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  test('releases Redis did not confirm during a stall are retried once it answers: no slot outlives the stall', async () => {
    const store = new RedisStore({ port: redis.port, fail_mode: 'fail_open', key_prefix: 'rl:', command_timeout_ms: 200 }, silent, TUNING);
    const [leases] = scriptKeys('rl:', 'k').lease;
    const held = async (): Promise<number> => Number(/:(\d+)/.exec(await redisCommand(redis.port, ['ZCARD', leases]))![1]);
    try {
      for (const id of ['a', 'b', 'c']) assert.equal((await store.acquireLease('k', 5, id, 900_000, Date.now())).allowed, true);
      assert.equal(await held(), 3);
      assert.equal(await redisCommand(redis.port, ['CLIENT', 'PAUSE', '1000']), '+OK\r\n');
      // The first release times out; the others find the store degraded. None of them reached Redis.
      for (const id of ['a', 'b', 'c']) await store.releaseLease('k', id);
      assert.equal(store.health(), 'degraded');
      await until(() => store.health() === 'ok', 20_000, 'Redis to answer again');
      for (let polls = 0; (await held()) > 0; polls++) {
        assert.ok(polls < 1000, `${await held()} slots still held in Redis after the stall`);
        await sleep(20);
      }
    } finally {
      await store.close();
    }
  });

  test('Redis never reachable: the store starts degraded, warns once, and serves local limits', { timeout: 120_000 }, async () => {
    const { logger, lines } = capture();
    const dead = await startRedis();
    const port = dead.port;
    await dead.stop();
    // A minute-long command timeout: the first check may wait for the first connection's verdict (refused, at
    // once) but never that long, so the test's own timeout only catches a hang.
    const store = new RedisStore({ port, fail_mode: 'fail_open', command_timeout_ms: 60_000 }, logger, TUNING);
    try {
      const value = await store.windowCheck('k', 1, 60_000, 1, Date.now());
      assert.equal(value.allowed, true);
      assert.equal((await store.windowCheck('k', 1, 60_000, 1, Date.now())).allowed, false);
      await until(() => lines.some((l) => l.startsWith('warn:')), 20_000, 'the warning');
      assert.equal(store.health(), 'degraded');
      await sleep(300);
      assert.equal(lines.filter((l) => l.startsWith('warn:')).length, 1, 'reconnect attempts do not spam the log');
    } finally {
      await store.close();
    }
  });
});
