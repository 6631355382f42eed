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

test('a stream with no blank line costs work linear in its size: each byte is scanned once and copied at most twice', () => {
  // 5,000 chunks of 100 bytes: lines, but no blank line, so one event grows for the whole stream (500 KB).
  const line = Buffer.from(`data: ${'y'.repeat(92)}\n`);
  const chunks = 5000;
  const realConcat = Buffer.concat;
  let copied = 0;
  Buffer.concat = (list: readonly Uint8Array[], total?: number): Buffer<ArrayBuffer> => {
    const out = realConcat(list, total);
    copied += out.length;
    return out;
  };
  let seen = 0;
  const tap = new SseTap(fakeCtx(), [() => void seen++]);
  try {
    for (let i = 0; i < chunks; i++) assert.equal(tap.push(line), null);
    const last = tap.push(Buffer.from('\n'));
    assert.equal(last?.length, chunks * line.length + 1);
  } finally {
    Buffer.concat = realConcat;
  }
  const total = chunks * line.length + 1;
  assert.equal(seen, 1);
  assert.ok(copied <= 2 * total, `copied ${copied} bytes of ${total}`);
  assert.ok(tap.scannedBytes <= total, `scanned ${tap.scannedBytes} bytes of ${total}`);
});

test('a stream without any line end, in lone-CR style, is scanned once too', () => {
  const tap = new SseTap(fakeCtx(), [() => undefined]);
  const piece = Buffer.from('z'.repeat(1000));
  for (let i = 0; i < 500; i++) tap.push(piece);
  assert.ok(tap.scannedBytes <= 500 * 1000, `scanned ${tap.scannedBytes}`);
  assert.equal(tap.push(Buffer.from('\r\r'))?.length, 500 * 1000 + 2);
});

test('every event terminator is found wherever the chunks split it', () => {
  for (const end of ['\n\n', '\r\n\r\n', '\r\r', '\n\r\n', '\r\n\n']) {
    const text = `data: one${end}: note${end}data: two${end}data: [DONE]${end}`;
    const whole: string[] = [];
    run([text], [(_ctx, e) => void whole.push(e.raw.toString())]);
    assert.equal(whole.length, 4, JSON.stringify(end));
    // Every single split point, and one byte per chunk.
    const splits: string[][] = [text.split('')];
    for (let at = 1; at < text.length; at++) splits.push([text.slice(0, at), text.slice(at)]);
    for (const chunks of splits) {
      const seen: string[] = [];
      const { forwarded } = run(chunks, [(_ctx, e) => void seen.push(e.raw.toString())]);
      assert.deepEqual(seen, whole, `${JSON.stringify(end)} split as ${JSON.stringify(chunks.slice(0, 2))}`);
      assert.equal(forwarded, text);
    }
  }
});

test('an event over the size limit stops the tap: the complete events before it are forwarded, it is not', () => {
  const tap = new SseTap(fakeCtx(), [() => undefined], null, 1000);
  assert.equal(tap.push(Buffer.from('data: ok\n\ndata: ' + 'x'.repeat(500)))?.toString(), 'data: ok\n\n');
  assert.equal(tap.oversized, false);
  assert.equal(tap.push(Buffer.from('x'.repeat(600))), null);
  assert.equal(tap.oversized, true);
  assert.equal(tap.push(Buffer.from('\n\ndata: later\n\n')), null);
  assert.equal(tap.flush(), null);
});

test("NDJSON framing (Ollama's streams): a line split across chunks is seen whole; a stop forwards the lines before it", () => {
  const lines = ['{"message":{"content":"a"},"done":false}\n', '{"message":{"content":"bad"},"done":false}\n', '{"done":true,"eval_count":3}\n'];
  const bytes = Buffer.from(lines.join(''));
  const seen: unknown[] = [];
  const stopAt = (_ctx: RequestContext, event: SseEvent) => {
    seen.push(event.json);
    assert.equal(event.ndjson, true);
    assert.equal(event.done, false);
    if (event.data.includes('bad')) return endStream(new SluiceError('SLUICE_OUTPUT_BLOCKED', 'blocked'), null, 'notice');
  };
  // Every split point, one byte at a time included: the same events, the same forwarded bytes.
  for (const size of [1, 3, 7, bytes.length]) {
    seen.length = 0;
    const tap = new SseTap(fakeCtx(), [stopAt], null, 1024 * 1024, 'ndjson');
    let forwarded = '';
    for (let at = 0; at < bytes.length && tap.stopped === null; at += size) forwarded += tap.push(bytes.subarray(at, at + size))?.toString() ?? '';
    assert.equal(forwarded, lines[0], `chunks of ${size}`);
    assert.equal(tap.stopped?.notice, 'notice');
    assert.deepEqual(seen, [{ message: { content: 'a' }, done: false }, { message: { content: 'bad' }, done: false }]);
  }
});

test('a tap that only reads usage steps over events without one, and forwards and reads exactly what a hooked tap does', async () => {
  const { openai } = await import('../core/providers/openai.ts');
  const chunk = (i: number): string =>
    `data: {"id":"c","choices":[{"index":0,"delta":{"content":"t${i} é"},"finish_reason":null}],"usage":null}\n\n`;
  const usageOnlyEvent = 'data: {"id":"c","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":5,"total_tokens":12}}\n\n';
  const stream = [chunk(0), chunk(1), chunk(2), usageOnlyEvent, 'data: [DONE]\n\n'].join('');
  const bytes = Buffer.from(stream);
  // Seeded splits, a single byte up to a few events long, so the usage event also straddles chunks.
  let seed = 7;
  const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  for (const dropInjected of [false, true]) {
    for (let round = 0; round < 200; round++) {
      const pieces: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + random(round % 2 === 0 ? 8 : 300);
        pieces.push(bytes.subarray(at, at + size));
        at += size;
      }
      const outcome = (hooks: EventHook[]): { forwarded: Buffer[]; usage: unknown } => {
        const ctx = fakeCtx();
        const tap = new SseTap(ctx, hooks, { wire: openai, read: true, dropInjected });
        const forwarded: Buffer[] = [];
        for (const piece of pieces) {
          const out = tap.push(piece);
          if (out !== null) forwarded.push(Buffer.from(out));
        }
        const rest = tap.flush();
        if (rest !== null) forwarded.push(Buffer.from(rest));
        return { forwarded, usage: ctx.usage };
      };
      const usageOnly = outcome([]);
      assert.deepEqual(usageOnly, outcome([() => undefined]), `round ${round}`);
      assert.deepEqual(usageOnly.usage, { promptTokens: 7, completionTokens: 5, totalTokens: 12 });
      const expected = dropInjected ? stream.replace(usageOnlyEvent, '') : stream;
      assert.equal(Buffer.concat(usageOnly.forwarded).toString(), expected);
    }
  }
});
