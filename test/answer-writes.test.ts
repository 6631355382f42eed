import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { AnswerWrites } from '../core/proxy/answer-writes.ts';

/** Stands in for a response: only what AnswerWrites reads (`destroyed`) and calls (`destroy`). */
function fakeResponse(name: string, destroyed = false): ServerResponse & { name: string; destroyCalls: number } {
  const res = { name, destroyed, destroyCalls: 0, destroy: () => void res.destroyCalls++ };
  return res as unknown as ServerResponse & { name: string; destroyCalls: number };
}

const nextPass = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('answers are written at the end of the pass, in the order they came, each with its own body', async () => {
  const written: string[] = [];
  const writes = new AnswerWrites((res, body) => written.push(`${(res as unknown as { name: string }).name}:${body.toString()}`));
  writes.end(fakeResponse('a'), Buffer.from('1'));
  writes.end(fakeResponse('b'), Buffer.from('2'));
  assert.deepEqual(written, [], 'an answer was written before the end of the pass');
  await nextPass();
  assert.deepEqual(written, ['a:1', 'b:2']);
  // A new pass, a new batch.
  writes.end(fakeResponse('c'), Buffer.from('3'));
  await nextPass();
  assert.deepEqual(written, ['a:1', 'b:2', 'c:3']);
});

test('a response whose client left meanwhile is skipped; one whose write throws is destroyed, and the rest still go', async () => {
  const written: string[] = [];
  const broken = fakeResponse('broken');
  const writes = new AnswerWrites((res, body) => {
    if (res === broken) throw new Error('write after end');
    written.push((res as unknown as { name: string }).name + body.toString());
  });
  writes.end(fakeResponse('gone', true), Buffer.from('!'));
  writes.end(broken, Buffer.from('!'));
  writes.end(fakeResponse('ok'), Buffer.from('!'));
  await nextPass();
  assert.deepEqual(written, ['ok!']);
  assert.equal(broken.destroyCalls, 1);
});
