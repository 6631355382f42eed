// Reading `usage` from the end of a JSON answer (tpm counting): the walk back from the closing brace must give the
// numbers a full JSON.parse gives, or leave the answer to one, for bodies shaped to mislead it.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UNSURE, UsageTail, usageFromEnd, usageOfBody } from '../core/providers/openai.ts';

/** What a full parse of the body says: the reference. */
function parsed(body: string): ReturnType<typeof usageOfBody> {
  try {
    return usageOfBody(JSON.parse(body));
  } catch {
    return null;
  }
}

/** The tail's answer for `body` pushed in chunks of `size` bytes. */
function tailRead(body: Buffer, size: number): ReturnType<UsageTail['read']> {
  const tail = new UsageTail();
  for (let at = 0; at < body.length; at += size) tail.push(body.subarray(at, at + size));
  return tail.read();
}

/** Asserts the reader gives what a full parse gives, and says whether the walk from the end answered by itself. */
function check(body: string, what: string): 'walked' | 'parsed' {
  const bytes = Buffer.from(body);
  const expected = parsed(body);
  for (const size of [bytes.length || 1, 7, 1000]) assert.deepEqual(tailRead(bytes, size), expected, `${what} (chunks of ${size})`);
  const fromEnd = usageFromEnd(bytes, true);
  if (fromEnd === UNSURE) return 'parsed';
  assert.deepEqual(fromEnd, expected, `${what}: the walk from the end`);
  return 'walked';
}

const usage = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 };
const answer = (content: string): Record<string, unknown> => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1732000000,
  model: 'sim',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
});

describe('usage read from the end of a JSON answer', () => {
  test('usage last, or followed by a few members: read from the end alone', () => {
    assert.equal(check(JSON.stringify({ ...answer('Paris.'), usage }), 'usage last'), 'walked');
    assert.equal(check(JSON.stringify({ ...answer('Paris.'), usage, system_fingerprint: 'fp_1', service_tier: null, logprobs: false, t: -1.5e-3 }), 'members after usage'), 'walked');
    assert.equal(check(JSON.stringify({ ...answer('Paris.'), usage, timings: { a: [1, { b: '}]' }], c: 'x\\' } }), 'nested member after usage'), 'walked');
    assert.equal(check(JSON.stringify({ usage: { ...usage, prompt_tokens_details: { cached_tokens: 3 } } }), 'details inside usage'), 'walked');
  });

  test('usage in the middle: walked back over a short answer, parsed whole behind a long one', () => {
    assert.equal(check(JSON.stringify({ id: 'x', usage, ...answer('short') }), 'usage before a short answer'), 'walked');
    assert.equal(check(JSON.stringify({ id: 'x', usage, ...answer('long '.repeat(2000)) }), 'usage before a 10 KB answer'), 'parsed');
    assert.equal(tailRead(Buffer.from(JSON.stringify({ usage, ...answer('long '.repeat(2000)) })), 100)?.totalTokens, 12);
  });

  test('usage-like text and keys inside the answer are not the answer\'s usage', () => {
    const quoted = 'the answer quotes {"usage": {"total_tokens": 1}} and "usage":{"total_tokens":2} \\"usage\\"';
    assert.equal(check(JSON.stringify({ ...answer(quoted), usage }), 'usage object quoted in the content'), 'walked');
    assert.equal(check(JSON.stringify({ ...answer(`${quoted}"usage":`), usage }).replace('"usage":{"prompt', ' "usage" :\n{"prompt'), 'quoted, then spaced key'), 'walked');
    // A nested object with a key `usage`: only the top level counts.
    const nested = answer('x');
    (nested['choices'] as { message: Record<string, unknown> }[])[0]!.message['usage'] = { total_tokens: 99 };
    assert.equal(check(JSON.stringify({ usage, ...nested }), 'nested usage after the top-level one'), 'walked');
    assert.equal(check(JSON.stringify(nested), 'nested usage and none at the top'), 'walked');
    assert.equal(parsed(JSON.stringify(nested)), null);
    // A string that ends in an escaped backslash, right before the closing quote; a value with an escaped quote.
    assert.equal(check(JSON.stringify({ ...answer('C:\\'), usage, path: 'C:\\dir\\', q: 'say "usage"' }), 'escaped backslashes and quotes'), 'walked');
  });

  test('whitespace anywhere JSON allows it', () => {
    const body = { ...answer('Paris.'), usage, tail: [1, 2, { x: null }] };
    assert.equal(check(JSON.stringify(body, null, 2), 'indented'), 'walked');
    assert.equal(check(JSON.stringify(body, null, '\t').replaceAll('\n', '\r\n') + ' \r\n\t', 'tabs, CRLF, trailing whitespace'), 'walked');
    assert.equal(check(' \n' + JSON.stringify(body).replaceAll(':', ' : ').replaceAll(',', ' ,\n '), 'spaced colons and commas'), 'walked');
  });

  test('unicode: escaped and raw characters in values; an escaped key leaves the answer to a full parse', () => {
    assert.equal(check(JSON.stringify({ ...answer('Café – 東京 🚀 \u0000 \u2028'), usage }), 'raw UTF-8'), 'walked');
    assert.equal(check(`{"choices":[{"message":{"content":"caf\\u00e9 \\ud83d\\ude80 \\u0022usage\\u0022"}}],"usage":{"total_tokens":12}}`, 'escapes in content'), 'walked');
    assert.equal(check(`{"id":"x","\\u0075sage":{"total_tokens":12}}`, 'usage spelled with an escape'), 'parsed');
    assert.equal(parsed(`{"id":"x","\\u0075sage":{"total_tokens":12}}`)?.totalTokens, 12);
    assert.equal(check(`{"usage":{"total_tokens":12},"\\u0075sage":{"total_tokens":13}}`, 'an escaped duplicate after it'), 'parsed');
    assert.equal(check(`{"usage":{"total_tokens":12},"x\\"y":1}`, 'an escaped quote in a later key'), 'parsed');
    assert.equal(check(`{"usage":{"total_tokens":12,"n\\u0061me":"\\u00e9"}}`, 'escapes inside usage'), 'walked');
  });

  test('duplicates, odd values and bodies that are not an answer', () => {
    assert.equal(check(`{"usage":{"total_tokens":1},"id":"x","usage":{"total_tokens":12}}`, 'duplicate usage: the last counts'), 'walked');
    assert.equal(check(`{"usage":{"total_tokens":12},"id":"x","usage":null}`, 'a last usage of null'), 'walked');
    assert.equal(check(`{"usage":{"prompt_tokens":3}}`, 'usage without total_tokens'), 'walked');
    assert.equal(check(`{"usage":"none"}`, 'usage a string'), 'walked');
    assert.equal(check('{}', 'empty object'), 'walked');
    assert.equal(check(' { } ', 'empty object with spaces'), 'walked');
    for (const body of ['[{"usage":{"total_tokens":12}}]', '{"usage":{"total_tokens":12}', '{"usage":{"total_tokens":12},}', 'x{"usage":{"total_tokens":12}}', '"}"', '}', '', '\ufeff{"usage":{"total_tokens":12}}', '{"usage":{"total_tokens":1e999x}}']) {
      assert.equal(check(body, JSON.stringify(body)), 'parsed', JSON.stringify(body));
    }
    // What is between the first byte and the member found is not read: a body broken there still counts its usage.
    const broken = Buffer.from('{"choices":[}{,"usage":{"total_tokens":12}}');
    assert.equal(parsed(broken.toString()), null);
    assert.equal(tailRead(broken, 100)?.totalTokens, 12);
  });

  test('random answers: the same numbers as a full parse, and read from the end when usage sits near it', () => {
    let seed = 16;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const pieces = ['usage', '"usage":{"total_tokens":1}', '\\', '"', '{', '}', '[', ']', ',', ':', ' ', 'é', '🚀', '\n', 'a'];
    const text = (): string => Array.from({ length: random(12) }, () => pieces[random(pieces.length)]).join('');
    const value = (depth: number): unknown => {
      switch (random(depth > 2 ? 4 : 7)) {
        case 0: return text();
        case 1: return random(2) === 0 ? random(1000) - 500 : (random(1000) - 500) / 7;
        case 2: return [true, false, null][random(3)];
        case 3: return { total_tokens: random(100) };
        case 4: return Array.from({ length: random(4) }, () => value(depth + 1));
        default: return object(depth + 1);
      }
    };
    const keys = ['usage', 'id', 'choices', 'model', text()];
    const object = (depth: number): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (let n = random(5); n > 0; n--) out[keys[random(keys.length)]!] = value(depth);
      return out;
    };
    let walked = 0;
    for (let round = 0; round < 3000; round++) {
      const body = object(0);
      if (random(2) === 0) body['usage'] = { prompt_tokens: random(50), total_tokens: random(100) };
      const spacing = [undefined, 1, '\t'][random(3)];
      if (check(JSON.stringify(body, null, spacing), `round ${round}`) === 'walked') walked++;
    }
    assert.ok(walked > 2500, `read from the end in ${walked} of 3000`);
  });
});
