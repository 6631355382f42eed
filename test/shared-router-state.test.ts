// Router state shared between replicas through the store: the exchange on a fake clock (memory store), and the same
// over a real redis-server (entries that expire by Redis's clock, Redis going away and coming back).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryStore } from '../core/state/memory-store.ts';
import { RedisStore } from '../core/state/redis-store.ts';
import { MemoryRouterState } from '../core/state/router-state.ts';
import { createRouterState, ROUTER_TABLE_KEY, SharedRouterState } from '../core/state/shared-router-state.ts';
import type { SharedStore, StoreHealth } from '../core/state/store.ts';
import { redisFromRouterSettings } from '../core/config/router-settings.ts';
import { createLogger } from '../core/logger.ts';
import { memoryLogger, startGateway, until } from './helpers.ts';
import { startRedis, type RedisServer } from './redis-server.ts';

const silent = createLogger('silent');
const T0 = Date.UTC(2026, 0, 1, 12, 0, 10);

/** A fake clock both replicas read. */
function fakeClock(start = T0): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** Two replicas on one store, syncing only when told (no timers). */
function pair(store: SharedStore, clock = fakeClock(), entryTtlMs = 5000): { a: SharedRouterState; b: SharedRouterState; clock: ReturnType<typeof fakeClock> } {
  const options = { syncIntervalMs: 0, entryTtlMs, clock: clock.now };
  return { a: new SharedRouterState(store, silent, { ...options, replicaId: 'a' }), b: new SharedRouterState(store, silent, { ...options, replicaId: 'b' }), clock };
}

async function syncAll(...states: SharedRouterState[]): Promise<void> {
  for (const state of states) await state.sync();
}

describe('MemoryStore shared tables', () => {
  test('an entry is live until its ttl passes without a new publish; withdraw drops it at once', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    assert.deepEqual(await store.exchangeEntry('t', 'a', 'A1', 1000, 0), { a: 'A1' });
    assert.deepEqual(await store.exchangeEntry('t', 'b', 'B1', 1000, 500), { a: 'A1', b: 'B1' });
    assert.deepEqual(await store.exchangeEntry('t', 'b', 'B2', 1000, 1000), { b: 'B2' }, 'a expired at 1000');
    assert.deepEqual(await store.exchangeEntry('t', 'a', 'A2', 1000, 1100), { a: 'A2', b: 'B2' });
    await store.withdrawEntry('t', 'a');
    assert.deepEqual(await store.exchangeEntry('t', 'b', 'B3', 1000, 1200), { b: 'B3' });
    assert.deepEqual(await store.exchangeEntry('other', 'b', 'x', 1000, 1200), { b: 'x' }, 'tables are apart');
    await assert.rejects(store.exchangeEntry('t', '', 'x', 1000, 0), /member must not be empty/);
    await assert.rejects(store.exchangeEntry('t', 'a', 'x', 0, 0), /ttl must be a positive/);
    await store.close();
  });
});

describe('SharedRouterState on the memory store (fake clock)', () => {
  test('in-flight counts add up across replicas; each keeps its own local count', async () => {
    const { a, b } = pair(new MemoryStore({ sweepIntervalMs: 0 }));
    a.acquire('x');
    a.acquire('x');
    b.acquire('x');
    b.acquire('y');
    assert.equal(a.inFlight('x'), 2, 'before an exchange, only what this replica sees');
    await syncAll(a, b, a);
    assert.equal(a.inFlight('x'), 3);
    assert.equal(b.inFlight('x'), 3);
    assert.equal(a.inFlight('y'), 1);
    assert.equal(a.localInFlight('x'), 2);
    assert.equal(b.localInFlight('x'), 1);
    a.release('x');
    assert.equal(a.inFlight('x'), 2, 'a local change shows at once in local reads');
    await syncAll(a, b);
    assert.equal(b.inFlight('x'), 2);
    // A release never takes the count below what the others hold.
    a.release('x');
    a.release('x');
    a.release('x');
    assert.equal(a.inFlight('x'), 1);
  });

  test('a cooldown set by one replica makes the deployment unavailable on the other, until it ends', async () => {
    const { a, b, clock } = pair(new MemoryStore({ sweepIntervalMs: 0 }));
    const now = clock.now();
    a.coolDown('x', now + 3000, 'backend answered 429 (deployment x)', now);
    assert.equal(b.unavailable('x', now), null);
    await syncAll(a, b);
    assert.equal(b.unavailable('x', now), 'cooldown');
    assert.equal(b.health('x').coolingUntil, now + 3000);
    assert.equal(b.health('x').lastError, 'backend answered 429 (deployment x)');
    assert.equal(b.unavailable('y', now), null, 'other deployments are untouched');
    clock.advance(3000);
    assert.equal(b.unavailable('x', clock.now()), null, 'the cooldown ends on time without another exchange');
    // The longest cooldown wins, wherever it was set.
    b.coolDown('x', clock.now() + 1000, 'b saw a 500', clock.now());
    a.coolDown('x', clock.now() + 4000, 'a saw a 500', clock.now() + 1);
    await syncAll(a, b, a);
    assert.equal(a.health('x').coolingUntil, clock.now() + 4000);
    assert.equal(b.health('x').coolingUntil, clock.now() + 4000);
    assert.equal(b.health('x').lastError, 'a saw a 500', 'the latest error');
  });

  test('a health verdict: unhealthy while any replica says so, healthy again once it says so', async () => {
    const { a, b, clock } = pair(new MemoryStore({ sweepIntervalMs: 0 }));
    a.setHealthy('x', false, 'probe: ECONNREFUSED', clock.now());
    b.setHealthy('x', true, null, clock.now());
    await syncAll(a, b, a);
    assert.equal(b.unavailable('x', clock.now()), 'unhealthy');
    assert.equal(b.health('x').healthy, false);
    assert.equal(b.health('x').lastError, 'probe: ECONNREFUSED');
    clock.advance(1000);
    a.setHealthy('x', true, null, clock.now());
    await syncAll(a, b);
    assert.equal(b.unavailable('x', clock.now()), null);
    assert.equal(b.health('x').lastProbeAt, clock.now());
  });

  test('usage this minute adds up; a new minute starts from zero', async () => {
    const { a, b, clock } = pair(new MemoryStore({ sweepIntervalMs: 0 }));
    a.addUsage('x', 3, 300, clock.now());
    b.addUsage('x', 2, 50, clock.now());
    await syncAll(a, b, a);
    assert.deepEqual(a.usage('x', clock.now()), { requests: 5, tokens: 350 });
    assert.deepEqual(b.usage('x', clock.now()), { requests: 5, tokens: 350 });
    clock.advance(60_000);
    assert.deepEqual(b.usage('x', clock.now()), { requests: 0, tokens: 0 }, 'last minute no longer counts');
    b.addUsage('x', 1, 10, clock.now());
    await syncAll(a, b);
    assert.deepEqual(b.usage('x', clock.now()), { requests: 1, tokens: 10 }, "a's part of last minute is not this minute's");
  });

  test("latency is the mean of the replicas' EWMAs; a replica without a sample reads the others'", async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const { a, b, clock } = pair(store);
    const c = new SharedRouterState(store, silent, { syncIntervalMs: 0, entryTtlMs: 5000, clock: clock.now, replicaId: 'c' });
    a.observeLatency('x', 100);
    b.observeLatency('x', 300);
    assert.equal(c.latency('x'), null);
    await syncAll(a, b, c, a);
    assert.equal(a.latency('x'), 200);
    assert.equal(c.latency('x'), 200);
    assert.equal(c.latency('y'), null);
    a.observeLatency('x', 200);
    // a's EWMA: 100 + 0.3·(200 − 100) = 130, read at once with b's last 300.
    assert.equal(a.latency('x'), 215);
  });

  test("a replica that stops publishing (a crash) no longer counts once its entry's ttl has passed", async () => {
    const { a, b, clock } = pair(new MemoryStore({ sweepIntervalMs: 0 }), fakeClock(), 2000);
    a.acquire('x');
    a.coolDown('y', clock.now() + 60_000, 'a saw a 500', clock.now());
    await syncAll(a, b);
    assert.equal(b.inFlight('x'), 1);
    clock.advance(1999);
    await b.sync();
    assert.equal(b.inFlight('x'), 1);
    clock.advance(1);
    await b.sync();
    assert.equal(b.inFlight('x'), 0);
    assert.equal(b.unavailable('y', clock.now()), null, "its cooldowns go with it");
  });

  test('close withdraws the replica: the others stop counting it at their next exchange', async () => {
    const { a, b } = pair(new MemoryStore({ sweepIntervalMs: 0 }));
    a.acquire('x');
    await syncAll(a, b);
    assert.equal(b.inFlight('x'), 1);
    await a.close();
    await b.sync();
    assert.equal(b.inFlight('x'), 0);
  });

  test('malformed entries of another member are skipped, the good ones still count', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const { a, b, clock } = pair(store);
    await store.exchangeEntry(ROUTER_TABLE_KEY, 'garbage', '{not json', 5000, clock.now());
    await store.exchangeEntry(ROUTER_TABLE_KEY, 'future', JSON.stringify({ v: 2, d: { x: [9, null, 0, 0, 0, 0, null, 0, null, 0] } }), 5000, clock.now());
    await store.exchangeEntry(ROUTER_TABLE_KEY, 'odd', JSON.stringify({ v: 1, d: { x: [-4, null, 0, 0, 0, 0, null, 0, null, 0], y: 'no', z: [1, null, 0, 0, 0, 0, 7, 0, null, 0] } }), 5000, clock.now());
    a.acquire('x');
    await syncAll(a, b);
    assert.equal(b.inFlight('x'), 1);
    assert.equal(b.inFlight('y'), 0);
    assert.equal(b.inFlight('z'), 0);
  });

  test('a cooldown and a changed verdict are published at once, not at the next tick', async () => {
    const inner = new MemoryStore({ sweepIntervalMs: 0 });
    let published = 0;
    const counting: SharedStore = Object.assign(Object.create(inner) as SharedStore, {
      exchangeEntry(key: string, member: string, value: string, ttlMs: number, now: number) {
        if (member === 'a') published++;
        return inner.exchangeEntry(key, member, value, ttlMs, now);
      },
    });
    const clock = fakeClock();
    // An hour between ticks: only the immediate publish can carry the cooldown.
    const a = new SharedRouterState(counting, silent, { syncIntervalMs: 3_600_000, clock: clock.now, replicaId: 'a' });
    const b = new SharedRouterState(inner, silent, { syncIntervalMs: 0, clock: clock.now, replicaId: 'b' });
    try {
      await until('the first exchange at start', () => a.exchanges === 1);
      a.acquire('x');
      a.addUsage('x', 1, 0, clock.now());
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(published, 1, 'ordinary changes wait for the tick');
      a.coolDown('x', clock.now() + 10_000, 'answered 429', clock.now());
      a.coolDown('y', clock.now() + 10_000, 'answered 429', clock.now());
      await until('the cooldowns are published', () => a.exchanges === 2);
      assert.equal(published, 2, 'two cooldowns in one turn go as one exchange');
      await b.sync();
      assert.equal(b.unavailable('x', clock.now()), 'cooldown');
      assert.equal(b.unavailable('y', clock.now()), 'cooldown');
      a.setHealthy('z', true, null, clock.now());
      await until('a first verdict is published', () => a.exchanges === 3);
      a.setHealthy('z', true, null, clock.now());
      await new Promise((resolve) => setImmediate(resolve));
      a.setHealthy('z', false, 'probe failed', clock.now());
      await until('a changed verdict is published', () => a.exchanges === 4);
      assert.equal(published, 4, 'the repeated verdict was not');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a store that cannot answer: routing goes on with local state, one warning, one line when back', async () => {
    const inner = new MemoryStore({ sweepIntervalMs: 0 });
    let health: StoreHealth = 'ok';
    let answering = true;
    const flaky: SharedStore = Object.assign(Object.create(inner) as SharedStore, {
      exchangeEntry(key: string, member: string, value: string, ttlMs: number, now: number) {
        if (!answering) return Promise.reject(new Error('no reply in time'));
        return inner.exchangeEntry(key, member, value, ttlMs, now);
      },
      health: () => health,
    });
    const clock = fakeClock();
    const { logger, lines } = memoryLogger();
    const a = new SharedRouterState(inner, silent, { syncIntervalMs: 0, clock: clock.now, replicaId: 'a' });
    const b = new SharedRouterState(flaky, logger, { syncIntervalMs: 0, entryTtlMs: 5000, clock: clock.now, replicaId: 'b' });
    a.acquire('x');
    a.coolDown('y', clock.now() + 60_000, 'a saw a 500', clock.now());
    b.acquire('x');
    await syncAll(a, b);
    assert.equal(b.inFlight('x'), 2);

    // No reply while the store still says ok: a slow reply is not an outage, what b had stays.
    answering = false;
    clock.advance(1000);
    await b.sync();
    assert.equal(b.failedExchanges, 1);
    assert.equal(b.inFlight('x'), 2);
    assert.equal(lines.filter((l) => l.startsWith('warn')).length, 0);

    // Silence for a whole entry ttl: the others' entries are gone from the store by now anyway.
    clock.advance(4000);
    await b.sync();
    assert.equal(b.inFlight('x'), 1, "a's count is dropped: b routes on its own");
    health = 'degraded';
    await b.sync();
    await b.sync();
    assert.equal(b.failedExchanges, 4);
    assert.equal(b.inFlight('x'), 1, "a's count is dropped: b routes on its own");
    assert.equal(b.unavailable('y', clock.now()), null);
    b.acquire('x');
    assert.equal(b.inFlight('x'), 2, 'local changes still count');
    assert.equal(lines.filter((l) => l.startsWith('warn: Router state is not shared')).length, 1, lines.join('\n'));

    health = 'ok';
    answering = true;
    await a.sync();
    await b.sync();
    assert.equal(b.inFlight('x'), 3);
    assert.equal(b.unavailable('y', clock.now()), 'cooldown');
    assert.equal(lines.filter((l) => l.startsWith('info: Router state is shared across replicas again')).length, 1);
    await b.sync();
    assert.equal(lines.filter((l) => l.startsWith('info:')).length, 1);
  });

  test('the in-memory store keeps the per-process state (no timers); any other store gets the shared one', async () => {
    const memory = new MemoryStore({ sweepIntervalMs: 0 });
    assert.ok(createRouterState(memory, silent) instanceof MemoryRouterState);
    const forwarding = Object.assign(Object.create(memory) as SharedStore, { kind: 'redis' as const });
    const shared = createRouterState(forwarding, silent, { syncIntervalMs: 0 });
    assert.ok(shared instanceof SharedRouterState);
    await shared.close();
  });
});

describe('SharedRouterState over a real redis-server', () => {
  let redis: RedisServer;
  const stores: RedisStore[] = [];
  const open = (prefix: string): RedisStore => {
    const store = new RedisStore({ host: '127.0.0.1', port: redis.port, key_prefix: prefix, command_timeout_ms: 60_000 }, silent, { reconnectMaxDelayMs: 100 });
    stores.push(store);
    return store;
  };
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const store of stores) await store.close();
    await redis.stop();
  });

  test('two replicas (two connections) share in-flight counts, cooldowns, verdicts, usage and latency', async () => {
    const storeA = open('rs1:');
    const storeB = open('rs1:');
    assert.ok(await storeA.connected(20_000));
    assert.ok(await storeB.connected(20_000));
    const options = { syncIntervalMs: 0 };
    const a = new SharedRouterState(storeA, silent, { ...options, replicaId: 'a' });
    const b = new SharedRouterState(storeB, silent, { ...options, replicaId: 'b' });
    const now = Date.now();
    a.acquire('x');
    a.acquire('x');
    a.coolDown('y', now + 600_000, 'answered 429 (deployment y)', now);
    a.setHealthy('z', false, 'probe: ECONNREFUSED', now);
    a.addUsage('x', 4, 400, now);
    a.observeLatency('x', 120);
    b.acquire('x');
    await syncAll(a, b, a);
    assert.equal(b.inFlight('x'), 3);
    assert.equal(a.inFlight('x'), 3);
    assert.equal(b.unavailable('y', Date.now()), 'cooldown');
    assert.equal(b.health('y').lastError, 'answered 429 (deployment y)');
    assert.equal(b.unavailable('z', Date.now()), 'unhealthy');
    assert.equal(b.usage('x', now).requests, 4);
    assert.equal(b.latency('x'), 120);
    await a.close();
    await b.sync();
    assert.equal(b.inFlight('x'), 1, 'a withdrew its entry when it closed');
    assert.equal(b.unavailable('y', Date.now()), null);
    await b.close();
  });

  test('on a Redis Cluster too (the table is one key, under one hash tag)', async () => {
    const cluster = await startRedis({ cluster: true });
    const onCluster = (): RedisStore => new RedisStore({ cluster: [{ host: '127.0.0.1', port: cluster.port }], command_timeout_ms: 60_000 }, silent, { reconnectMaxDelayMs: 100 });
    const storeA = onCluster();
    const storeB = onCluster();
    try {
      assert.ok(await storeA.connected(20_000));
      assert.ok(await storeB.connected(20_000));
      const a = new SharedRouterState(storeA, silent, { syncIntervalMs: 0, replicaId: 'a' });
      const b = new SharedRouterState(storeB, silent, { syncIntervalMs: 0, replicaId: 'b' });
      a.acquire('x');
      a.coolDown('y', Date.now() + 600_000, 'answered 429', Date.now());
      await syncAll(a, b);
      assert.equal(b.inFlight('x'), 1);
      assert.equal(b.unavailable('y', Date.now()), 'cooldown');
      await a.close();
      await b.close();
    } finally {
      await storeA.close();
      await storeB.close();
      await cluster.stop();
    }
  });

  test("a crashed replica's entry expires by Redis's clock", async () => {
    const storeA = open('rs2:');
    const storeB = open('rs2:');
    const a = new SharedRouterState(storeA, silent, { syncIntervalMs: 0, entryTtlMs: 300, replicaId: 'a' });
    const b = new SharedRouterState(storeB, silent, { syncIntervalMs: 0, entryTtlMs: 300, replicaId: 'b' });
    a.acquire('x');
    await syncAll(a, b);
    assert.equal(b.inFlight('x'), 1);
    // a never publishes again (as if killed): its entry is gone once Redis's clock passes its ttl.
    await until("b no longer counts a's request", () => {
      void b.sync();
      return b.inFlight('x') === 0;
    });
    assert.equal(a.inFlight('x'), 1, 'a itself still counts its own');
    await b.close();
  });

  test('Redis going away: local state, one warning; shared again once Redis is back', async () => {
    const storeA = open('rs3:');
    const storeB = open('rs3:');
    assert.ok(await storeA.connected(20_000));
    assert.ok(await storeB.connected(20_000));
    const { logger, lines } = memoryLogger();
    const a = new SharedRouterState(storeA, silent, { syncIntervalMs: 0, replicaId: 'a' });
    const b = new SharedRouterState(storeB, logger, { syncIntervalMs: 0, replicaId: 'b' });
    a.acquire('x');
    b.acquire('x');
    await syncAll(a, b);
    assert.equal(b.inFlight('x'), 2);

    await redis.stop();
    await until('the store sees Redis gone', () => storeB.health() !== 'ok');
    await b.sync();
    await b.sync();
    assert.equal(b.inFlight('x'), 1, 'b routes on its own count');
    assert.equal(lines.filter((l) => l.startsWith('warn: Router state is not shared')).length, 1, lines.join('\n'));

    await redis.restart();
    await until('both stores are back', () => storeA.health() === 'ok' && storeB.health() === 'ok');
    await until('a has published again and b sees it', () => {
      void a.sync().then(() => b.sync());
      return b.inFlight('x') === 2;
    });
    assert.equal(lines.filter((l) => l.startsWith('info: Router state is shared across replicas again')).length, 1);
    await a.close();
    await b.close();
  });
});

describe('the App picks the store and router state', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });
  const models = 'model_list:\n  - model_name: m\n    litellm_params: { model: mock/m }\n';

  test("LiteLLM's router_settings.redis_host/redis_port: a Redis store and shared router state", async () => {
    const gateway = await startGateway(`router_settings: { redis_host: 127.0.0.1, redis_port: "${redis.port}" }\n${models}`);
    try {
      assert.equal(gateway.gateway.store.kind, 'redis');
      assert.ok(gateway.gateway.state instanceof SharedRouterState);
      assert.ok(await gateway.gateway.store.connected!(20_000));
    } finally {
      await gateway.close();
    }
  });

  test('a redis: section wins over router_settings.redis_*, with a warning', async () => {
    const { logger, lines } = memoryLogger();
    const gateway = await startGateway(`redis: { host: 127.0.0.1, port: ${redis.port} }\nrouter_settings: { redis_host: 192.0.2.1, redis_port: 1 }\n${models}`, { logger });
    try {
      assert.ok(await gateway.gateway.store.connected!(20_000), 'connected to the redis: section, not router_settings');
      assert.equal(lines.filter((l) => l.includes('router_settings.redis_*: ignored')).length, 1);
      assert.equal(lines.filter((l) => l.includes('not acted on')).length, 0);
    } finally {
      await gateway.close();
    }
  });

  test('no Redis anywhere: the per-process state', async () => {
    const gateway = await startGateway(models);
    try {
      assert.equal(gateway.gateway.store.kind, 'memory');
      assert.ok(gateway.gateway.state instanceof MemoryRouterState);
    } finally {
      await gateway.close();
    }
  });
});

describe("LiteLLM's router_settings.redis_* keys", () => {
  test('map to a redis section; redis_url wins over host/port; bad values are named', () => {
    assert.deepEqual(redisFromRouterSettings(null), { config: null, errors: [] });
    assert.deepEqual(redisFromRouterSettings({ routing_strategy: 'least-busy' }), { config: null, errors: [] });
    assert.deepEqual(redisFromRouterSettings({ redis_host: 'redis.internal', redis_port: '6380', redis_password: 'pw' }), {
      config: { host: 'redis.internal', port: 6380, password: 'pw' },
      errors: [],
    });
    assert.deepEqual(redisFromRouterSettings({ redis_url: 'redis://r:6379/0', redis_host: 'ignored' }), { config: { url: 'redis://r:6379/0' }, errors: [] });
    assert.deepEqual(redisFromRouterSettings({ redis_host: 'h', redis_port: 70000 }).errors, ['router_settings.redis_port: must be a port number (1-65535)']);
    assert.deepEqual(redisFromRouterSettings({ redis_url: 'http://r' }).errors, ['router_settings.redis_url: must start with redis:// or rediss://']);
  });
});
