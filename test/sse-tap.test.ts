// The stream tap splits events once, lazily, and never alters bytes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestContext } from '../core/plugin/context.ts';
import { SluiceError } from '../core/errors.ts';
import { endStream } from '../core/plugin/api.ts';
import { SseTap } from '../core/proxy/stream-tap.ts';
import type { EventHook, SseEvent } from '../core/plugin/stream-event.ts';

function fakeCtx(): RequestContext {
  const body = { model: 'm', messages: [], stream: true };
  return new RequestContext('id', 'POST', '/v1/chat/completions', {}, '127.0.0.1', 'chat', 0, body, Buffer.from(JSON.stringify(body)));
}

function run(chunks: string[], hooks: EventHook[]): { forwarded: string; tap: SseTap } {
  const tap = new SseTap(fakeCtx(), hooks);
  let forwarded = '';
  for (const chunk of chunks) forwarded += tap.push(Buffer.from(chunk))?.toString() ?? '';
  forwarded += tap.flush()?.toString() ?? '';
  return { forwarded, tap };
}

test('events split across chunks are seen whole, and all bytes are forwarded unchanged', () => {
  const seen: string[] = [];
  const chunks = ['data: {"a":', '1}\n', '\ndata: {"b":2}\n\nda', 'ta: [DONE]\n\n'];
  const { forwarded } = run(chunks, [(_ctx, event) => void seen.push(event.data)]);
  assert.deepEqual(seen, ['{"a":1}', '{"b":2}', '[DONE]']);
  assert.equal(forwarded, chunks.join(''));
});

test('CRLF line endings, comments, event names and multi-line data follow the SSE rules', () => {
  const events: SseEvent[] = [];
  const text = ': keep-alive\r\n\r\nevent: delta\r\ndata: line1\r\ndata:line2\r\n\r\n';
  const { forwarded } = run([text], [(_ctx, event) => void events.push(event)]);
  assert.equal(forwarded, text);
  assert.equal(events.length, 2);
  assert.equal(events[1]!.event, 'delta');
  assert.equal(events[1]!.data, 'line1\nline2');
  assert.equal(events[1]!.index, 1);
});

test('JSON is parsed once and shared by every plugin that reads it', () => {
  const objects: unknown[] = [];
  const reader: EventHook = (_ctx, event) => void objects.push(event.json);
  run(['data: {"x":1}\n\n'], [reader, reader]);
  assert.equal(objects.length, 2);
  assert.equal(objects[0], objects[1]);
  assert.deepEqual(objects[0], { x: 1 });
});

test('an event that is not JSON has json === undefined; [DONE] is marked done', () => {
  const seen: [unknown, boolean][] = [];
  run(['data: not json\n\ndata: [DONE]\n\n'], [(_ctx, e) => void seen.push([e.json, e.done])]);
  assert.deepEqual(seen, [
    [undefined, false],
    [undefined, true],
  ]);
});

test('a stop forwards exactly the bytes before the offending event and nothing after', () => {
  const error = new SluiceError('SLUICE_PLUGIN_FAILED', 'stop');
  const hook: EventHook = (_ctx, event) => (event.data.includes('bad') ? endStream(error) : undefined);
  const tap = new SseTap(fakeCtx(), [hook]);
  const first = tap.push(Buffer.from('data: ok1\n\ndata: ok2\n\ndata: bad\n\ndata: ok3\n\n'));
  assert.equal(first?.toString(), 'data: ok1\n\ndata: ok2\n\n');
  assert.equal(tap.stopped?.error, error);
  assert.equal(tap.push(Buffer.from('data: later\n\n')), null);
});

test('a chunk with no complete event forwards nothing until the event completes', () => {
  const tap = new SseTap(fakeCtx(), [() => undefined]);
  assert.equal(tap.push(Buffer.from('data: {"partial"')), null);
  assert.equal(tap.push(Buffer.from(':true}\n\n'))?.toString(), 'data: {"partial":true}\n\n');
});
