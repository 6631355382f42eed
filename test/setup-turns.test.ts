import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SetupTurns } from '../core/proxy/setup-turns.ts';

/** A clock that moves only when a set-up says it worked: each costs `costMs`. */
function fakeClock(): { now: () => number; spend: (ms: number) => void } {
  let at = 0;
  return { now: () => at, spend: (ms) => (at += ms) };
}

/** Resolves once the loop has run every immediate queued so far, and those they queue, `passes` deep. */
async function settle(passes = 10): Promise<void> {
  for (let i = 0; i < passes; i++) await new Promise((resolve) => setImmediate(resolve));
}

test('set-ups run in the order queued, none before the current code is done', async () => {
  const turns = new SetupTurns();
  const ran: number[] = [];
  for (let i = 0; i < 5; i++) turns.enqueue(() => ran.push(i));
  assert.deepEqual(ran, [], 'a set-up ran synchronously');
  await settle();
  assert.deepEqual(ran, [0, 1, 2, 3, 4]);
});

test('a turn stops at its budget, so what the loop queued meanwhile (a socket read) runs before the rest', async () => {
  const clock = fakeClock();
  const turns = new SetupTurns({ now: clock.now, budgetMs: 0.5 });
  const events: string[] = [];
  for (let i = 1; i <= 5; i++) {
    turns.enqueue(() => {
      events.push(`setup ${i}`);
      // Stands for I/O that became ready while this set-up ran.
      if (i === 1) setImmediate(() => events.push('between turns'));
      clock.spend(0.3);
    });
  }
  await settle();
  // 0.3 ms each against a 0.5 ms budget: two set-ups per turn.
  assert.deepEqual(events, ['setup 1', 'setup 2', 'between turns', 'setup 3', 'setup 4', 'setup 5']);
});

test('a set-up queued during a turn joins it while the budget lasts; after the queue empties, a new one starts a turn of its own', async () => {
  const clock = fakeClock();
  const turns = new SetupTurns({ now: clock.now, budgetMs: 0.5 });
  const ran: string[] = [];
  turns.enqueue(() => {
    ran.push('first');
    turns.enqueue(() => ran.push('queued by the first'));
  });
  await settle();
  assert.deepEqual(ran, ['first', 'queued by the first']);
  // The queue is empty again: a new set-up starts a new turn and still runs.
  turns.enqueue(() => ran.push('later'));
  await settle();
  assert.deepEqual(ran, ['first', 'queued by the first', 'later']);
});

test('a set-up that throws is reported, and the ones behind it still run', async () => {
  const thrown: unknown[] = [];
  const turns = new SetupTurns({ onError: (error) => thrown.push(error) });
  const ran: string[] = [];
  turns.enqueue(() => ran.push('before'));
  turns.enqueue(() => {
    throw new Error('a broken set-up');
  });
  turns.enqueue(() => ran.push('after'));
  await settle();
  assert.deepEqual(ran, ['before', 'after']);
  assert.deepEqual(thrown.map((error) => (error as Error).message), ['a broken set-up']);
});

test('a long backlog, one set-up per turn and more arriving meanwhile, runs every set-up once and in order', async () => {
  // A budget of 0: each turn runs one set-up, so the queue's head passes its compaction point many times.
  const turns = new SetupTurns({ now: () => 0, budgetMs: 0 });
  const ran: number[] = [];
  let queued = 0;
  const add = (): void => {
    const n = queued++;
    turns.enqueue(() => {
      ran.push(n);
      // Every third set-up brings another, as new requests keep coming while a backlog drains.
      if (n % 3 === 0 && queued < 4000) add();
    });
  };
  for (let i = 0; i < 3000; i++) add();
  for (let pass = 0; pass < 10_000 && ran.length < queued; pass++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(ran.length, queued);
  assert.deepEqual(ran, Array.from({ length: queued }, (_, i) => i));
});
