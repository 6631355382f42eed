// Text logs stay one line per event: control characters in logged fields are escaped, so none can forge a line.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../core/logger.ts';
import { chat, post, startGateway } from './helpers.ts';

test('log.access text: a model name with a newline gives exactly one line, with the newline escaped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-log-'));
  const file = join(dir, 'access.log');
  const gw = await startGateway(`
plugins:
  - route.round_robin
  - { name: log.access, options: { destination: ${file}, format: text } }
model_list:
  - { model_name: m, litellm_params: { model: mock/m } }
`);
  try {
    const res = await post(`${gw.url}/v1/chat/completions`, chat('x\n2026-01-01T00:00:00.000Z 10.0.0.1 "/v1/chat/completions" 200 FAKE line\r\u0085\u007f\u001b[2J'));
    assert.equal(res.status, 404);
    const log = readFileSync(file, 'utf8');
    const lines = log.split('\n').filter((line) => line !== '');
    assert.equal(lines.length, 1, log);
    assert.ok(lines[0]!.includes(' 404 x\\n2026-01-01T00:00:00.000Z 10.0.0.1 "/v1/chat/completions" 200 FAKE line\\r\\u0085\\u007f\\u001b[2J - '), lines[0]);
    assert.doesNotMatch(log, /[\r\u0085\u007f\u001b]/);
  } finally {
    await gw.close();
  }
});

test('the text logger escapes control characters in the message and in every field', () => {
  const lines: string[] = [];
  const logger = createLogger('info', 'text', (line) => lines.push(line));
  logger.warn('config: model "a\nerror: forged"', { model: 'b\nerror: forged', plain: 'c\u0085d', list: ['e\u2028f'], error: new Error('g\rh') });
  assert.equal(lines.length, 1);
  const line = lines[0]!;
  assert.equal(line.indexOf('\n'), line.length - 1, line);
  assert.doesNotMatch(line.slice(0, -1), /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  assert.ok(line.startsWith('warn: config: model "a\\nerror: forged" model="b\\nerror: forged" plain="c\\u0085d" list=["e\\u2028f"] error="g\\rh"'), line);
});
