import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { AnswerWrites } from '../core/proxy/answer-writes.ts';

type FakeResponse = ServerResponse & { name: string; destroyCalls: number };

/** Stands in for a response: only what AnswerWrites reads (`destroyed`, `writableEnded`) and calls (`destroy`). */
function fakeResponse(name: string, state: { destroyed?: boolean; writableEnded?: boolean } = {}): FakeResponse {
  const res = { name, destroyed: state.destroyed ?? false, writableEnded: state.writableEnded ?? false, destroyCalls: 0, destroy: () => void res.destroyCalls++ };
  return res as unknown as FakeResponse;
}

const nameOf = (res: ServerResponse): string => (res as FakeResponse).name;
const nextPass = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("answers are written at the end of the pass, in order, each with its body; every 'written' runs after all the writes", async () => {
  const events: string[] = [];
  const writes = new AnswerWrites((res, body) => events.push(`write ${nameOf(res)}:${body.toString()}`));
  writes.end(fakeResponse('a'), Buffer.from('1'), () => events.push('written a'));
  writes.end(fakeResponse('b'), Buffer.from('2'), () => events.push('written b'));
  assert.equal(events.length, 0, 'an answer was written before the end of the pass');
  await nextPass();
  assert.deepEqual(events, ['write a:1', 'write b:2', 'written a', 'written b']);
  // A new pass, a new batch.
  writes.end(fakeResponse('c'), Buffer.from('3'), () => events.push('written c'));
  await nextPass();
  assert.deepEqual(events.slice(4), ['write c:3', 'written c']);
});

test('a response gone or already ended is not written (its callback still runs); one whose write throws is destroyed, and the rest still go', async () => {
  const written: string[] = [];
  const called: string[] = [];
  const broken = fakeResponse('broken');
  const writes = new AnswerWrites((res, body) => {
    if (res === broken) throw new Error('headers already sent');
    written.push(nameOf(res) + body.toString());
  });
  for (const res of [fakeResponse('gone', { destroyed: true }), fakeResponse('ended', { writableEnded: true }), broken, fakeResponse('ok')]) {
    writes.end(res, Buffer.from('!'), () => called.push(nameOf(res)));
  }
  await nextPass();
  assert.deepEqual(written, ['ok!']);
  assert.equal(broken.destroyCalls, 1);
  assert.deepEqual(called, ['gone', 'ended', 'broken', 'ok']);
});
