// The stream path: bytes untouched, a flush per chunk, SSE headers, client aborts reaching the backend.

import assert from 'node:assert/strict';
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startOpenAISim, type Sim } from './sim/openai-sim.ts';
import { chat, post, sleep, startGateway, until, type TestGateway } from './helpers.ts';

// Fixed bytes, cut at awkward places: mid-event, mid-line, and inside a multi-byte UTF-8 character.
const SSE_PIECES = [
  Buffer.from('data: {"id":"c1","choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'),
  Buffer.from('data: {"id":"c1","choices":[{"delta":{"content":"Xin chào, '),
  Buffer.from([0xe4, 0xb8]),
  Buffer.from([0x96, ...Buffer.from('界"}}]}\n\ndata: {"id":"c1","choices":[{"delta":{"content":" ok"},"finish_reason":"stop"}]}\n')]),
  Buffer.from('\ndata: [DONE]\n\n'),
];
const JSON_BODY = Buffer.from('{"id":"c2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"héllo  "}}],  "usage":{"prompt_tokens":3}}');

function startFixedUpstream(): Promise<Server> {
  const server = createServer((req, res) => {
    // Health probes (GET) get an empty 200.
    if (req.method !== 'POST') return void res.end();
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', async () => {
      if (JSON.parse(body).stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'x-upstream': 'fixed' });
        for (const piece of SSE_PIECES) {
          res.write(piece);
          await sleep(15);
        }
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': JSON_BODY.length, 'x-upstream': 'fixed' });
        res.end(JSON_BODY);
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('stream path', () => {
  let fixed: Server;
  let fixedUrl: string;
  let sim: Sim;
  let gw: TestGateway;
  let tapped: TestGateway;

  before(async () => {
    fixed = await startFixedUpstream();
    fixedUrl = `http://127.0.0.1:${(fixed.address() as AddressInfo).port}`;
    sim = await startOpenAISim();
    // These tests look at one attempt's bytes; retries and cooldowns have their own tests.
    const models = `
router_settings: { num_retries: 0, allowed_fails: 1000 }
model_list:
  - model_name: fixed
    litellm_params: { model: openai/fixed, api_base: ${fixedUrl} }
  - model_name: sim
    litellm_params: { model: openai/sim-model, api_base: ${sim.url}/v1, stream_timeout: 2 }
  - model_name: sim-status
    litellm_params: { model: openai/sim-model, api_base: ${sim.url}/v1 }
    model_info: { id: sim-status }
  - model_name: sim-short
    litellm_params: { model: openai/sim-model, api_base: ${sim.url}/v1, timeout: 0.3 }
  - model_name: dead
    litellm_params: { model: openai/x, api_base: "http://127.0.0.1:1", api_key: sk-secret-do-not-leak }
`;
    gw = await startGateway(models);
    // The same models behind a chain with a stream tap, to show tapping changes no byte either.
    tapped = await startGateway(`
plugins:
  - route.round_robin
  - path: ./plugins/examples/token-cap/index.ts
    options: { max_tokens: 100000, fill_in: false }
${models}`);
  });

  after(async () => {
    await gw.close();
    await tapped.close();
    await sim.close();
    await new Promise((r) => fixed.close(r));
  });

  for (const variant of ['untapped', 'tapped'] as const) {
    test(`JSON body reaches the client byte-for-byte (${variant})`, async () => {
      const url = (variant === 'tapped' ? tapped : gw).url;
      const direct = await post(`${fixedUrl}/v1/chat/completions`, chat('fixed'));
      const proxied = await post(`${url}/v1/chat/completions`, chat('fixed'));
      assert.equal(proxied.status, 200);
      assert.deepEqual(proxied.body, direct.body);
      assert.equal(proxied.headers['x-upstream'], 'fixed');
      assert.equal(proxied.headers['content-length'], String(JSON_BODY.length));
    });

    test(`SSE stream reaches the client byte-for-byte, split characters included (${variant})`, async () => {
      const url = (variant === 'tapped' ? tapped : gw).url;
      const direct = await post(`${fixedUrl}/v1/chat/completions`, chat('fixed', { stream: true }));
      const proxied = await post(`${url}/v1/chat/completions`, chat('fixed', { stream: true }));
      assert.deepEqual(direct.body, Buffer.concat(SSE_PIECES));
      assert.deepEqual(proxied.body, direct.body);
      assert.equal(proxied.headers['content-type'], 'text/event-stream');
      assert.equal(proxied.headers['cache-control'], 'no-cache');
      assert.equal(proxied.headers['x-accel-buffering'], 'no');
      if (variant === 'untapped') {
        // Nothing looks at event boundaries without a tap: every upstream write, half-events included, goes on alone.
        assert.deepEqual(proxied.chunks.map((c) => c.data.length), SSE_PIECES.map((p) => p.length));
      } else {
        // A tap forwards whole events only: no chunk ends inside an event.
        for (const { data } of proxied.chunks) assert.ok(data.toString('latin1').endsWith('\n\n'));
      }
    });
  }

  test('an HTTP/1.0 client gets the stream unframed, delimited by the close, byte for byte', async () => {
    // HTTP/1.0 has no chunked encoding: every chunk goes through node:http's own write, not the gateway's framing.
    const body = chat('fixed', { stream: true });
    const socket = connect(Number(new URL(gw.url).port), '127.0.0.1');
    socket.write(`POST /v1/chat/completions HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    const received: Buffer[] = [];
    socket.on('data', (data: Buffer) => received.push(data));
    await new Promise<void>((resolve, reject) => {
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    const answer = Buffer.concat(received);
    const headEnd = answer.indexOf('\r\n\r\n');
    const head = answer.subarray(0, headEnd).toString('latin1').toLowerCase();
    assert.match(head, /^http\/1\.1 200 ok/);
    assert.doesNotMatch(head, /transfer-encoding/);
    assert.deepEqual(answer.subarray(headEnd + 4), Buffer.concat(SSE_PIECES));
  });

  test('each SSE chunk reaches the client as soon as the backend sends it', async () => {
    // Lockstep: the backend writes the next event only once the client holds the previous one, so a gateway that
    // held a chunk back (waiting for more bytes) would stall the stream instead of passing.
    const events = Array.from({ length: 6 }, (_, i) => `data: {"choices":[{"index":0,"delta":{"content":"t${i}"}}]}\n\n`);
    let delivered: (() => void) | null = null;
    const lockstep = createServer((req, res) => {
      if (req.method !== 'POST') return void res.end();
      req.resume();
      req.on('end', async () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const event of events) {
          const arrived = new Promise<void>((resolve) => (delivered = resolve));
          res.write(event);
          await arrived;
        }
        res.end('data: [DONE]\n\n');
      });
    });
    await new Promise<void>((resolve) => lockstep.listen(0, '127.0.0.1', resolve));
    const lockGw = await startGateway(`
router_settings: { num_retries: 0 }
model_list:
  - model_name: lockstep
    litellm_params: { model: openai/lockstep, api_base: http://127.0.0.1:${(lockstep.address() as AddressInfo).port} }
`);
    try {
      const chunks = await new Promise<string[]>((resolve, reject) => {
        const req = request(`${lockGw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
          assert.equal(res.statusCode, 200);
          const seen: string[] = [];
          res.on('data', (data: Buffer) => {
            seen.push(data.toString('utf8'));
            delivered?.();
          });
          res.on('end', () => resolve(seen));
        });
        req.on('error', reject);
        // Only a stalled stream gets here.
        req.setTimeout(20_000, () => reject(new Error(`the stream stalled: a chunk was held back`)));
        req.end(chat('lockstep', { stream: true }));
      });
      assert.deepEqual(chunks, [...events, 'data: [DONE]\n\n'], 'chunks were not coalesced');
    } finally {
      await lockGw.close();
      lockstep.closeAllConnections();
      await new Promise((r) => lockstep.close(r));
    }
  });

  test('a client that disconnects aborts the upstream request at once, not at the backend\'s next write', async () => {
    // The next chunk is a minute away: only the client's disconnect can end the backend's request before then.
    sim.knobs.chunkIntervalMs = 60_000;
    sim.knobs.tokens = 100;
    const abortsBefore = sim.stats.aborts;
    try {
      await new Promise<void>((resolve, reject) => {
        const req = request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => undefined);
        req.setTimeout(20_000, () => reject(new Error('no data')));
        req.end(chat('sim', { stream: true }));
      });
      await until('the backend saw the abort', () => sim.stats.aborts === abortsBefore + 1);
    } finally {
      sim.knobs.chunkIntervalMs = 0;
      sim.knobs.tokens = 5;
    }
  });

  test('connection refused is a 502 naming the model group and never the api_key', async () => {
    const res = await post(`${gw.url}/v1/chat/completions`, chat('dead'));
    assert.equal(res.status, 502);
    const text = res.body.toString();
    const error = JSON.parse(text).error;
    assert.equal(error.code, 'upstream_unreachable');
    assert.match(error.message, /"dead"/);
    assert.doesNotMatch(text, /sk-secret/);
  });

  test('a backend slower than stream_timeout to first byte is a 504', async () => {
    // A minute to first byte: the 504 can only be the gateway's timeout.
    sim.knobs.delayMs = 60_000;
    const abortsBefore = sim.stats.aborts;
    try {
      const res = await post(`${gw.url}/v1/chat/completions`, chat('sim', { stream: true }));
      assert.equal(res.status, 504);
      assert.equal(JSON.parse(res.body.toString()).error.code, 'upstream_timeout');
      await until('timed out before the backend answered: it saw the request abandoned', () => sim.stats.aborts === abortsBefore + 1);
    } finally {
      sim.knobs.delayMs = 0;
    }
  });

  test('a non-streaming call over the deployment timeout is a 504', async () => {
    sim.knobs.delayMs = 60_000;
    const abortsBefore = sim.stats.aborts;
    try {
      const res = await post(`${gw.url}/v1/chat/completions`, chat('sim-short'));
      assert.equal(res.status, 504);
      assert.match(JSON.parse(res.body.toString()).error.message, /"sim-short"/);
      await until('the backend saw the request abandoned', () => sim.stats.aborts === abortsBefore + 1);
    } finally {
      sim.knobs.delayMs = 0;
    }
  });

  test('a stream that goes silent longer than upstream_idle ends with a timeout event', async () => {
    const idle = await startGateway(`
server: { timeouts: { upstream_idle: 0.3 } }
router_settings: { num_retries: 0 }
model_list:
  - model_name: sim
    litellm_params: { model: openai/sim-model, api_base: ${sim.url} }
`);
    // The next chunk is a minute away: the stream can only end this early by the idle timeout.
    sim.knobs.chunkIntervalMs = 60_000;
    const abortsBefore = sim.stats.aborts;
    try {
      const res = await post(`${idle.url}/v1/chat/completions`, chat('sim', { stream: true }));
      assert.equal(res.status, 200);
      const last = res.body.toString().trim().split('\n\n').at(-1)!;
      assert.equal(JSON.parse(last.slice('data: '.length)).error.code, 'upstream_timeout');
      await until('cut before the next chunk was due: the backend saw the abort', () => sim.stats.aborts === abortsBefore + 1);
    } finally {
      sim.knobs.chunkIntervalMs = 0;
      await idle.close();
    }
  });

  test('a stream that outlasts stream_timeout after its first byte goes on; upstream_total still ends it', async () => {
    // stream_timeout bounds only the first byte: the attempt's one timer, set for it, is set again for the total.
    const config = (total: number): string => `
server: { timeouts: { upstream_total: ${total} } }
router_settings: { num_retries: 0 }
model_list:
  - model_name: sim
    litellm_params: { model: openai/sim-model, api_base: ${sim.url}, stream_timeout: 0.1 }
`;
    const roomy = await startGateway(config(60));
    const tight = await startGateway(config(0.3));
    try {
      // Six tokens 100 ms apart: the stream runs past its 0.1 s stream_timeout whatever the machine's speed.
      sim.knobs.tokens = 6;
      sim.knobs.chunkIntervalMs = 100;
      const whole = await post(`${roomy.url}/v1/chat/completions`, chat('sim', { stream: true }));
      assert.equal(whole.status, 200);
      const events = whole.body.toString().trim().split('\n\n');
      assert.equal(events.at(-1), 'data: [DONE]');
      assert.ok(!whole.body.toString().includes('upstream_timeout'));
      // The next chunk a minute away: only upstream_total (0.3 s) can end this one.
      sim.knobs.chunkIntervalMs = 60_000;
      const cut = await post(`${tight.url}/v1/chat/completions`, chat('sim', { stream: true }));
      assert.equal(cut.status, 200);
      const last = cut.body.toString().trim().split('\n\n').at(-1)!;
      assert.equal(JSON.parse(last.slice('data: '.length)).error.code, 'upstream_timeout');
      assert.match(JSON.parse(last.slice('data: '.length)).error.message, /did not finish within 0\.3 s/);
    } finally {
      sim.knobs.tokens = 5;
      sim.knobs.chunkIntervalMs = 0;
      await roomy.close();
      await tight.close();
    }
  });

  test('upstream 4xx and 5xx pass through with their status and body', async () => {
    // 429 last: it cools the deployment down for its Retry-After.
    for (const status of [400, 500, 503, 429]) {
      sim.knobs.status = status;
      sim.knobs.retryAfterSec = status === 429 ? 7 : null;
      try {
        const direct = await post(`${sim.url}/v1/chat/completions`, chat('sim-model'));
        const proxied = await post(`${gw.url}/v1/chat/completions`, chat('sim-status'));
        assert.equal(proxied.status, status);
        assert.deepEqual(JSON.parse(proxied.body.toString()), JSON.parse(direct.body.toString()));
        if (status === 429) assert.equal(proxied.headers['retry-after'], '7');
      } finally {
        sim.knobs.status = null;
        sim.knobs.retryAfterSec = null;
      }
    }
  });

  test('a stream the backend drops midway ends the client stream with an error event', async () => {
    sim.knobs.dropAfterChunks = 2;
    sim.knobs.tokens = 10;
    try {
      const res = await post(`${gw.url}/v1/chat/completions`, chat('sim', { stream: true }));
      assert.equal(res.status, 200);
      const text = res.body.toString();
      assert.doesNotMatch(text, /\[DONE\]/);
      const last = text.trim().split('\n\n').at(-1)!;
      assert.equal(JSON.parse(last.slice('data: '.length)).error.code, 'upstream_connection_reset');
    } finally {
      sim.knobs.dropAfterChunks = null;
      sim.knobs.tokens = 5;
    }
  });

  test('the deployment model replaces the requested one and api_key goes as a Bearer token', async () => {
    await post(`${gw.url}/v1/chat/completions`, chat('sim', { temperature: 0.2, custom_field: 'kept' }), { 'x-trace': 'abc', authorization: 'Bearer client-key' });
    const seen = sim.stats.lastRequest!;
    const body = JSON.parse(seen.body);
    assert.equal(body.model, 'sim-model');
    assert.equal(body.temperature, 0.2);
    assert.equal(body.custom_field, 'kept');
    assert.equal(seen.headers['x-trace'], 'abc');
    // The client's gateway credentials never reach the backend.
    assert.equal(seen.headers['authorization'], undefined);
    assert.equal(seen.path, '/v1/chat/completions');
  });
});

/** A gateway whose one model, `big`, is `upstream` (started here), with no retries. */
async function gatewayInFrontOf(upstream: Server): Promise<TestGateway> {
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  return startGateway(`
router_settings: { num_retries: 0 }
model_list:
  - model_name: big
    litellm_params: { model: openai/big, api_base: "http://127.0.0.1:${(upstream.address() as AddressInfo).port}" }
`);
}

test('a client that stops reading and then reads on gets every byte, and its keep-alive socket serves the next stream', async () => {
  // 8 MB of events, each different, so a lost, doubled or reordered chunk shows in the comparison.
  const events = Array.from({ length: 512 }, (_, i) => Buffer.from(`data: ${JSON.stringify({ i, choices: [{ delta: { content: String(i % 10).repeat(16 * 1024) } }] })}\n\n`));
  const expected = Buffer.concat([...events, Buffer.from('data: [DONE]\n\n')]);
  let markBackpressure: () => void = () => undefined;
  const upstreamBackpressured = new Promise<void>((resolve) => (markBackpressure = resolve));
  let streams = 0;
  const upstream = createServer((req, res) => {
    req.resume();
    // The default chain's health probes.
    if (req.method === 'GET') return void res.end('{"data":[]}');
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    // The second stream is short: it only shows the socket still works.
    const body = streams++ === 0 ? events : events.slice(0, 3);
    let next = 0;
    const pump = (): void => {
      while (next < body.length) {
        if (!res.write(body[next++]!)) {
          markBackpressure();
          return void res.once('drain', pump);
        }
      }
      res.end('data: [DONE]\n\n');
    };
    pump();
  });
  const gw = await gatewayInFrontOf(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const call = (paused: boolean): Promise<{ body: Buffer; reused: boolean }> =>
    new Promise((resolve, reject) => {
      const req = request(`${gw.url}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ body: Buffer.concat(chunks), reused: req.reusedSocket }));
        res.on('error', reject);
        if (paused) {
          // Read nothing until the gateway has stopped reading the backend (its writes to us filled up), then all.
          res.pause();
          void upstreamBackpressured.then(() => res.resume());
        }
      });
      // A stream the gateway never resumes would hang here: a guard against that, not a speed check.
      const stalled = setTimeout(() => req.destroy(new Error('the stream stalled: the gateway never read on')), 30_000);
      req.on('close', () => clearTimeout(stalled));
      req.on('error', reject);
      req.end(chat('big', { stream: true }));
    });
  try {
    const first = await call(true);
    assert.equal(first.body.length, expected.length);
    assert.ok(first.body.equals(expected), 'the stream arrived changed');
    const second = await call(false);
    assert.ok(second.reused, 'the keep-alive socket was not reused');
    assert.ok(second.body.equals(Buffer.concat([...events.slice(0, 3), Buffer.from('data: [DONE]\n\n')])));
  } finally {
    agent.destroy();
    await gw.close();
    await new Promise((r) => upstream.close(r));
  }
});

test('a client that stops reading pauses the upstream instead of buffering its output', async () => {
  const total = 64 * 1024 * 1024;
  let written = 0;
  const line = Buffer.from(`data: ${JSON.stringify({ choices: [{ delta: { content: 'x'.repeat(16 * 1024) } }] })}\n\n`);
  const upstream = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const pump = (): void => {
      while (written < total) {
        written += line.length;
        if (!res.write(line)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  const gw = await gatewayInFrontOf(upstream);
  try {
    await new Promise<void>((resolve, reject) => {
      const req = request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.pause(); // read nothing
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 500);
      });
      req.on('error', () => undefined);
      req.setTimeout(5000, () => reject(new Error('no response')));
      req.end(chat('big', { stream: true }));
    });
    // Socket buffers on three hops hold a few MB at most; without backpressure all 64 MB would be pulled in.
    assert.ok(written < 16 * 1024 * 1024, `upstream wrote ${(written / 1048576).toFixed(1)} MB to a client that read nothing`);
  } finally {
    await gw.close();
    await new Promise((r) => upstream.close(r));
  }
});

test('a whole JSON answer arrives byte for byte, every byte value, below and above the size sent in one write', async () => {
  // All 256 byte values (not valid UTF-8), so a body decoded and re-encoded on the way shows in the comparison.
  const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const bodies = [Buffer.concat([Buffer.from('{"x":"'), everyByte, Buffer.from('"}')]), Buffer.concat(Array.from({ length: 80 }, () => everyByte))];
  let served = 0;
  const upstream = createServer((req, res) => {
    req.resume();
    if (req.method === 'GET') return void res.end('{"data":[]}');
    const body = bodies[served++ % bodies.length]!;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  const gw = await gatewayInFrontOf(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const call = (): Promise<{ body: Buffer; length: string | undefined; reused: boolean }> =>
    new Promise((resolve, reject) => {
      const req = request(`${gw.url}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ body: Buffer.concat(chunks), length: res.headers['content-length'], reused: req.reusedSocket }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(chat('big'));
    });
  try {
    for (const [i, expected] of [...bodies, ...bodies].entries()) {
      const got = await call();
      assert.equal(got.length, String(expected.length));
      assert.ok(got.body.equals(expected), `answer ${i} (${expected.length} bytes) arrived changed`);
      // The next answer on the same socket starts where this one's length said it ends.
      if (i > 0) assert.ok(got.reused, `answer ${i} did not reuse the keep-alive socket`);
    }
  } finally {
    agent.destroy();
    await gw.close();
    await new Promise((r) => upstream.close(r));
  }
});
