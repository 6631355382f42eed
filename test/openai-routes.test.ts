// The rest of the OpenAI surface with a `model` field (and vLLM's rerank, score and tokenizer routes): each goes to
// the group's deployments through the same chain, to the path the backend serves it at.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { errorOf, post, startGateway, type TestGateway } from './helpers.ts';

const KEY = 'sk-routes-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
/** Speech answers are audio bytes, passed on as they are. */
const AUDIO = Buffer.from([0xff, 0xf3, 0x44, 0xc4, 0x00, 0x01, 0x02, 0x80]);

describe('other OpenAI routes', () => {
  const seen: { path: string; body: Record<string, unknown> }[] = [];
  const backend = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      // Health probes (GET) are answered but not recorded.
      if (req.method === 'POST') seen.push({ path: req.url ?? '', body: JSON.parse(body) as Record<string, unknown> });
      if (req.url === '/v1/audio/speech') {
        res.writeHead(200, { 'content-type': 'audio/mpeg' });
        res.end(AUDIO);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ served: req.url }));
    });
  });
  let gw: TestGateway;

  before(async () => {
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    gw = await startGateway(`
general_settings: { master_key: ${KEY} }
model_list:
  - model_name: local
    litellm_params: { model: hosted_vllm/served-name, api_base: http://127.0.0.1:${(backend.address() as AddressInfo).port}/v1 }
`);
  });
  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  });

  const cases: [route: string, body: Record<string, unknown>, upstream: string][] = [
    ['/v1/rerank', { query: 'capital of France', documents: ['Paris', 'Berlin'] }, '/v1/rerank'],
    ['/rerank', { query: 'q', documents: ['d'] }, '/v1/rerank'],
    ['/v2/rerank', { query: 'q', documents: ['d'] }, '/v1/rerank'],
    ['/v1/score', { text_1: 'a', text_2: ['b', 'c'] }, '/v1/score'],
    ['/v1/moderations', { input: 'is this fine?' }, '/v1/moderations'],
    ['/v1/images/generations', { prompt: 'a lighthouse', n: 1 }, '/v1/images/generations'],
    ['/tokenize', { prompt: 'hello world' }, '/tokenize'],
    ['/v1/detokenize', { tokens: [1, 2, 3] }, '/detokenize'],
  ];

  test('each route reaches the backend at its path, with the deployment model, through the auth phase', async () => {
    for (const [route, body, upstream] of cases) {
      const refused = await post(`${gw.url}${route}`, JSON.stringify({ model: 'local', ...body }));
      assert.equal(refused.status, 401, `${route} without a key`);
      const res = await post(`${gw.url}${route}`, JSON.stringify({ model: 'local', ...body }), auth);
      assert.equal(res.status, 200, `${route}: ${res.body.toString()}`);
      assert.deepEqual(JSON.parse(res.body.toString()), { served: upstream });
      assert.deepEqual(seen.at(-1)!.body, { model: 'served-name', ...body });
    }
  });

  test('speech: the audio bytes come back unchanged', async () => {
    const res = await post(`${gw.url}/v1/audio/speech`, JSON.stringify({ model: 'local', input: 'Xin chào', voice: 'alloy' }), auth);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'audio/mpeg');
    assert.deepEqual(res.body, AUDIO);
  });

  test('the fields each route needs are checked, naming the parameter; an unknown model is a 404', async () => {
    const expectations: [route: string, body: Record<string, unknown>, param: string][] = [
      ['/v1/rerank', { documents: ['d'] }, 'query'],
      ['/v1/rerank', { query: 'q', documents: [] }, 'documents'],
      ['/v1/moderations', {}, 'input'],
      ['/v1/images/generations', { prompt: 7 }, 'prompt'],
      ['/v1/audio/speech', {}, 'input'],
      ['/v1/detokenize', { tokens: 'abc' }, 'tokens'],
    ];
    const before = seen.length;
    for (const [route, body, param] of expectations) {
      const res = await post(`${gw.url}${route}`, JSON.stringify({ model: 'local', ...body }), auth);
      assert.equal(res.status, 400, route);
      assert.equal(errorOf(res).param, param, route);
    }
    assert.equal((await post(`${gw.url}/v1/rerank`, JSON.stringify({ model: 'nope', query: 'q', documents: ['d'] }), auth)).status, 404);
    assert.equal(seen.length, before, 'nothing reached the backend');
  });
});
