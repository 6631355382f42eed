// /v1/audio/transcriptions and /v1/audio/translations: multipart uploads spooled to disk (never held whole in
// memory), sent on with the deployment's model, again on a retry, and cleaned up after.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { startAudioSim, type AudioSim } from './sim/audio-sim.ts';
import { post, startGateway, until, type TestGateway } from './helpers.ts';

describe('audio uploads (multipart)', () => {
  let sim: AudioSim;
  let flaky: AudioSim;
  let gw: TestGateway;
  let client: OpenAI;
  const audio = randomBytes(300_000);
  const audioSha = createHash('sha256').update(audio).digest('hex');
  // The gateway spools into os.tmpdir(): a directory of this test's own shows what is left behind.
  const spoolRoot = mkdtempSync(join(tmpdir(), 'audio-test-'));
  const previousTmp = process.env['TMPDIR'];

  before(async () => {
    process.env['TMPDIR'] = spoolRoot;
    sim = await startAudioSim();
    flaky = await startAudioSim();
    gw = await startGateway(`
server: { body_limit: 1mb }
model_list:
  - model_name: whisper
    litellm_params: { model: hosted_vllm/openai/whisper-large-v3, api_base: ${sim.url}/v1 }
  - model_name: whisper-ha
    litellm_params: { model: hosted_vllm/whisper-a, api_base: ${flaky.url}/v1, order: 1 }
  - model_name: whisper-ha
    litellm_params: { model: hosted_vllm/whisper-b, api_base: ${sim.url}/v1, order: 2 }
router_settings: { num_retries: 2, retry_after: 0 }
`);
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    if (previousTmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = previousTmp;
    await gw.close();
    await sim.close();
    await flaky.close();
  });

  test('the openai SDK transcribes: the file arrives byte for byte, with the deployment model and the other fields', async () => {
    const result = await client.audio.transcriptions.create({ file: await toFile(audio, 'talk.wav', { type: 'audio/wav' }), model: 'whisper', language: 'en', temperature: 0.2 });
    assert.equal(result.text, `openai/whisper-large-v3 ${audioSha} ${audio.length}`);
    const got = sim.received.at(-1)!;
    assert.equal(got.path, '/v1/audio/transcriptions');
    assert.equal(got.filename, 'talk.wav');
    assert.equal(got.fields['language'], 'en');
    assert.equal(got.fields['temperature'], '0.2');
    assert.equal(got.fields['model'], 'openai/whisper-large-v3');
  });

  test('translations go to their own route; a text answer comes back as text', async () => {
    const text = await client.audio.translations.create({ file: await toFile(audio, 'talk.mp3'), model: 'whisper', response_format: 'text' });
    assert.equal(String(text).trim(), `openai/whisper-large-v3 ${audioSha} ${audio.length}`);
    assert.equal(sim.received.at(-1)!.path, '/v1/audio/translations');
  });

  test('a failing deployment: the spooled upload is sent again, whole, to the next one', async () => {
    flaky.failNext(5, 500);
    const before = flaky.received.length;
    const result = await client.audio.transcriptions.create({ file: await toFile(audio, 'talk.wav'), model: 'whisper-ha' });
    assert.equal(result.text, `whisper-b ${audioSha} ${audio.length}`);
    const failed = flaky.received.slice(before);
    assert.ok(failed.length >= 1);
    for (const form of failed) assert.equal(form.fileSha256, audioSha, 'each attempt got the whole file');
  });

  test('an upload over body_limit is a 413 the SDK reads as APIError, and nothing reaches the backend', async () => {
    const before = sim.received.length;
    await assert.rejects(
      client.audio.transcriptions.create({ file: await toFile(randomBytes(1_200_000), 'big.wav'), model: 'whisper' }),
      (error: unknown) => error instanceof OpenAI.APIError && error.status === 413,
    );
    assert.equal(sim.received.length, before);
  });

  test('a form without a file or a model is a 400 naming it; a JSON body is a 415', async () => {
    const boundary = 'b0undary';
    const form = (parts: string): Buffer => Buffer.from(`${parts}--${boundary}--\r\n`);
    const modelOnly = form(`--${boundary}\r\ncontent-disposition: form-data; name="model"\r\n\r\nwhisper\r\n`);
    const noFile = await post(`${gw.url}/v1/audio/transcriptions`, modelOnly, { 'content-type': `multipart/form-data; boundary=${boundary}` });
    assert.equal(noFile.status, 400);
    assert.equal(JSON.parse(noFile.body.toString()).error.param, 'file');
    const fileOnly = form(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF\r\n`);
    const noModel = await post(`${gw.url}/v1/audio/transcriptions`, fileOnly, { 'content-type': `multipart/form-data; boundary=${boundary}` });
    assert.equal(noModel.status, 400);
    assert.equal(JSON.parse(noModel.body.toString()).error.param, 'model');
    const json = await post(`${gw.url}/v1/audio/transcriptions`, JSON.stringify({ model: 'whisper' }), { 'content-type': 'application/json' });
    assert.equal(json.status, 415);
  });

  test('an unknown model is a 404, and every spooled upload is removed once its request is over', async () => {
    await assert.rejects(client.audio.transcriptions.create({ file: await toFile(audio, 'a.wav'), model: 'nope' }), (error: unknown) => error instanceof OpenAI.NotFoundError);
    await until('spool directories removed', () => readdirSync(spoolRoot).filter((name) => name.startsWith('sluice-form-')).length === 0);
  });
});
