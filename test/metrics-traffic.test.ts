// Sluice's own gateway metrics on a real gateway, after known traffic: open connections and the bytes on them
// (counted exactly, on raw sockets), retries, fallbacks, a cooldown, the backend's rate-limit headers, guard
// verdicts by scanner, a stream cut by its backend, Redis health. The whole scrape then passes `promtool check
// metrics`, which CI installs with Debian's prometheus package.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chat, post, sleep, startGateway, startHeldBackend, until, type HeldBackend, type TestGateway } from './helpers.ts';
import { parsePrometheusText, type Exposition } from './prom-text.ts';
import { startRedis, type RedisServer } from './redis-server.ts';
import { startOpenAISim, type Sim } from './sim/openai-sim.ts';

const MASTER = 'sk-master-1234';
const KEY = 'sk-team-b-5678';

interface RawExchange {
  /** Bytes this client wrote. */
  readonly sent: number;
  /** Bytes this client read. */
  readonly received: number;
  readonly status: number;
  /** The body, de-chunked. */
  readonly body: string;
}

/** Reads one HTTP/1.1 response off `socket`, whole: by content-length, by chunks, or to the end (connection: close). */
function readResponse(socket: Socket, counter: { received: number }, closing: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const done = (): { status: number; body: string } | null => {
      const headEnd = buffer.indexOf('\r\n\r\n');
      if (headEnd < 0) return null;
      const head = buffer.subarray(0, headEnd).toString('latin1');
      const status = Number(head.slice(9, 12));
      const rest = buffer.subarray(headEnd + 4);
      const length = /\r\ncontent-length: (\d+)/i.exec(head);
      if (length !== null) return rest.length >= Number(length[1]) ? { status, body: rest.subarray(0, Number(length[1])).toString('utf8') } : null;
      if (/\r\ntransfer-encoding: chunked/i.test(head)) {
        const parts: Buffer[] = [];
        let at = 0;
        for (;;) {
          const lineEnd = rest.indexOf('\r\n', at);
          if (lineEnd < 0) return null;
          const size = parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
          if (rest.length < lineEnd + 2 + size + 2) return null;
          if (size === 0) return { status, body: Buffer.concat(parts).toString('utf8') };
          parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
          at = lineEnd + 2 + size + 2;
        }
      }
      return null;
    };
    const onData = (chunk: Buffer): void => {
      counter.received += chunk.length;
      buffer = Buffer.concat([buffer, chunk]);
      if (closing) return;
      const response = done();
      if (response !== null) {
        socket.off('data', onData);
        resolve(response);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    if (closing) {
      socket.once('end', () => {
        const response = done();
        if (response === null) reject(new Error(`incomplete response: ${buffer.toString('latin1').slice(0, 200)}`));
        else resolve(response);
      });
    }
  });
}

/** A client connection that counts every byte it writes and reads. */
class RawClient {
  readonly socket: Socket;
  readonly counter = { sent: 0, received: 0 };

  private constructor(socket: Socket) {
    this.socket = socket;
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends one request; with `close`, asks the server to close the connection after it, and waits for that. */
  async request(method: string, path: string, headers: Record<string, string>, body: string, close: boolean): Promise<{ status: number; body: string }> {
    const all = { host: '127.0.0.1', connection: close ? 'close' : 'keep-alive', ...headers, ...(body === '' ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }) };
    const text = `${method} ${path} HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
    const reading = readResponse(this.socket, this.counter, close);
    this.counter.sent += Buffer.byteLength(text);
    this.socket.write(text);
    return reading;
  }
}

/** A scrape on its own connection, closed after it: every byte of it is known. */
async function rawScrape(port: number): Promise<RawExchange & { metrics: Exposition }> {
  const client = await RawClient.open(port);
  const res = await client.request('GET', '/metrics', { authorization: `Bearer ${MASTER}` }, '', true);
  assert.equal(res.status, 200);
  return { ...client.counter, status: res.status, body: res.body, metrics: parsePrometheusText(res.body) };
}

async function scrape(gw: TestGateway): Promise<{ text: string; metrics: Exposition }> {
  const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER}` } });
  assert.equal(res.status, 200);
  const text = await res.text();
  return { text, metrics: parsePrometheusText(text) };
}

describe("Sluice's gateway metrics after known traffic", () => {
  let good: Sim;
  let bad: Sim;
  let cut: Sim;
  let held: HeldBackend;
  let gw: TestGateway;
  const auth = { authorization: `Bearer ${KEY}` };

  before(async () => {
    good = await startOpenAISim({ tokens: 3 });
    bad = await startOpenAISim({ status: 500 });
    // A stream this backend starts and then drops (no [DONE]).
    cut = await startOpenAISim({ dropAfterChunks: 2 });
    held = await startHeldBackend();
    gw = await startGateway(`model_list:
  # r: the order-1 deployment always fails first, so the request is retried on the order-2 one; the failure cools it.
  - model_name: r
    litellm_params: { model: openai/sim-model, api_base: ${bad.url}/v1, api_key: sk-up, order: 1 }
    model_info: { id: r-bad }
  - model_name: r
    litellm_params: { model: openai/sim-model, api_base: ${good.url}/v1, api_key: sk-up, order: 2 }
    model_info: { id: r-good }
  - model_name: g
    litellm_params: { model: openai/sim-model, api_base: ${good.url}/v1, api_key: sk-up }
    model_info: { id: g-1 }
  - model_name: fb
    litellm_params: { model: openai/sim-model, api_base: ${bad.url}/v1, api_key: sk-up }
    model_info: { id: fb-bad }
  - model_name: cut
    litellm_params: { model: openai/sim-model, api_base: ${cut.url}/v1, api_key: sk-up }
    model_info: { id: cut-1 }
  - model_name: held
    litellm_params: { model: openai/held-model, api_base: ${held.url}/v1, api_key: sk-up }
    model_info: { id: held-1 }
router_settings:
  num_retries: 1
  allowed_fails: 0
  cooldown_time: 600
  fallbacks: [{ fb: [g] }]
general_settings:
  master_key: ${MASTER}
keys:
  - key: ${KEY}
    alias: team-b
plugins:
  - auth.api_key
  - route.simple_shuffle
  - name: guard.input.ban_substrings
    options: { substrings: ["blue falcon"] }
  - metrics
`);
  });
  after(async () => {
    await gw.close();
    await good.close();
    await bad.close();
    await cut.close();
    await held.close();
  });

  test('open connections, and bytes in and out, equal what the clients wrote and read', async () => {
    const port = Number(new URL(gw.url).port);
    // Connection A: a JSON answer, kept alive; a second scrape sees it open.
    const a = await RawClient.open(port);
    const first = await a.request('POST', '/v1/chat/completions', auth, chat('g'), false);
    assert.equal(first.status, 200);
    const scrapes: RawExchange[] = [];
    for (let polls = 0; ; polls++) {
      assert.ok(polls < 2000, 'connection A and the scrape are the open connections');
      const s = await rawScrape(port);
      scrapes.push(s);
      // Earlier scrapes' connections may still be closing on the gateway's side.
      if (s.metrics.sum('sluice_open_connections') === 2) break;
    }
    // A's second request, a stream, closes it.
    const second = await a.request('POST', '/v1/chat/completions', auth, chat('g', { stream: true }), true);
    assert.equal(second.status, 200);
    assert.match(second.body, /\[DONE\]/);

    let last: (RawExchange & { metrics: Exposition }) | null = null;
    for (let polls = 0; last === null; polls++) {
      assert.ok(polls < 2000, "the scrapes' connections closed");
      const s = await rawScrape(port);
      if (s.metrics.sum('sluice_open_connections') === 1) last = s;
      else scrapes.push(s);
    }
    // In: A's two requests, every scrape request (the last one's included: it was read before it was answered).
    // Out: A's two answers and every earlier scrape's answer (the last one is written after it was counted).
    const scrapedIn = scrapes.reduce((n, s) => n + s.sent, 0) + last.sent;
    const scrapedOut = scrapes.reduce((n, s) => n + s.received, 0);
    assert.equal(last.metrics.sum('sluice_client_bytes_received_total'), a.counter.sent + scrapedIn);
    assert.equal(last.metrics.sum('sluice_client_bytes_sent_total'), a.counter.received + scrapedOut);
    assert.ok(a.counter.received > 0 && a.counter.sent > 0);
  });

  test('retries, fallbacks, a cooldown, guard verdicts, a cut stream and the rate-limit headers, counted exactly', async () => {
    const before = (await scrape(gw)).metrics;
    const count = (name: string, labels: Record<string, string> = {}): number => before.sum(name, labels);

    // r: the first request fails on r-bad (a 500, which cools it down) and is retried on r-good; the next ones only
    // see r-good.
    for (let i = 0; i < 3; i++) {
      const res = await post(`${gw.url}/v1/chat/completions`, chat('r'), auth);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-litellm-model-id'], 'r-good');
    }
    // fb: its only deployment fails, g takes over.
    const fellBack = await post(`${gw.url}/v1/chat/completions`, chat('fb'), auth);
    assert.equal(fellBack.status, 200);
    assert.equal(fellBack.headers['x-litellm-attempted-fallbacks'], '1');
    // The guard blocks one request and passes the others.
    const blocked = await post(`${gw.url}/v1/chat/completions`, chat('g', { messages: [{ role: 'user', content: 'Where is the blue falcon?' }] }), auth);
    assert.equal(blocked.status, 400);
    // The backend's rate-limit headers: the gauges keep the last answer's.
    good.knobs.rateLimitRemaining = { requests: 41, tokens: 9000 };
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g'), auth)).status, 200);
    good.knobs.rateLimitRemaining = { requests: 40, tokens: 8500 };
    const streamed = await post(`${gw.url}/v1/chat/completions`, chat('g', { stream: true }), auth);
    assert.match(streamed.body.toString(), /\[DONE\]/);
    good.knobs.rateLimitRemaining = null;
    // A stream its backend drops after two chunks: the client got a 200, then an error event.
    const dropped = await post(`${gw.url}/v1/chat/completions`, chat('cut', { stream: true }), auth);
    assert.equal(dropped.status, 200);
    assert.doesNotMatch(dropped.body.toString(), /\[DONE\]/);

    const m = (await scrape(gw)).metrics;
    const delta = (name: string, labels: Record<string, string> = {}): number => m.sum(name, labels) - count(name, labels);
    assert.equal(delta('litellm_proxy_total_requests_metric_total'), 8);
    // The blocked request and the cut stream.
    assert.equal(delta('litellm_proxy_failed_requests_metric_total'), 2);
    assert.equal(delta('litellm_proxy_failed_requests_metric_total', { requested_model: 'g', exception_status: '400' }), 1);
    assert.equal(delta('litellm_proxy_failed_requests_metric_total', { requested_model: 'cut', model_id: 'cut-1' }), 1);
    assert.equal(delta('litellm_deployment_failure_responses_total', { model_id: 'cut-1' }), 1);
    assert.equal(delta('litellm_llm_api_time_to_first_token_metric_count', { model_id: 'g-1' }), 1);

    assert.equal(delta('sluice_retries_total', { model_group: 'r' }), 1);
    assert.equal(delta('sluice_retries_total'), 1);
    assert.equal(delta('sluice_fallbacks_total', { model_group: 'g' }), 1);
    assert.equal(delta('sluice_fallbacks_total'), 1);
    assert.equal(delta('litellm_deployment_successful_fallbacks_total', { requested_model: 'fb', fallback_model: 'g' }), 1);
    // Both failing deployments cooled down once, with the status that did it; r-bad is still cooling (state 1).
    assert.equal(delta('litellm_deployment_cooled_down_total', { model_id: 'r-bad', exception_status: '500' }), 1);
    assert.equal(delta('litellm_deployment_cooled_down_total', { model_id: 'fb-bad', exception_status: '500' }), 1);
    assert.equal(m.sum('litellm_deployment_state', { model_id: 'r-bad' }), 1);
    assert.equal(m.sum('litellm_deployment_state', { model_id: 'r-good' }), 0);
    assert.equal(delta('litellm_deployment_total_requests_total', { model_id: 'r-good' }), 3);

    assert.equal(m.sum('litellm_remaining_requests_metric', { model_id: 'g-1', model_group: 'g', api_provider: 'openai' }), 40);
    assert.equal(m.sum('litellm_remaining_tokens_metric', { model_id: 'g-1' }), 8500);
    assert.equal(m.find('litellm_remaining_requests_metric', { model_id: 'r-good' }).length, 0, 'no headers, no gauge');

    // The guard ran on the 8 requests that reached guardRequest: one blocked, the rest passed.
    assert.equal(delta('sluice_guard_verdicts_total', { verdict: 'block' }), 1);
    assert.equal(delta('sluice_guard_verdicts_total', { verdict: 'pass' }), 7);
    assert.equal(m.find('sluice_guard_verdicts_total', { verdict: 'block' })[0]!.labels['scanner'] !== '', true);

    assert.equal(m.sum('sluice_requests_in_flight'), 0);
    assert.equal(m.sum('sluice_streams_in_flight'), 0);
  });

  test('a stream held open is in flight, and counted once it ends', async () => {
    const streaming = post(`${gw.url}/v1/chat/completions`, chat('held', { stream: true }), auth);
    await until('the backend holds the stream', () => held.open === 1);
    const during = (await scrape(gw)).metrics;
    assert.equal(during.sum('sluice_streams_in_flight'), 1);
    assert.equal(during.sum('sluice_requests_in_flight'), 1);
    assert.equal(during.sum('sluice_deployment_in_flight', { model_group: 'held', model_id: 'held-1' }), 1);
    const total = during.sum('litellm_proxy_total_requests_metric_total', { requested_model: 'held' });
    assert.equal(total, 0, 'a request is counted when it ends');
    held.release();
    assert.equal((await streaming).status, 200);
    const m = (await scrape(gw)).metrics;
    assert.equal(m.sum('sluice_streams_in_flight'), 0);
    assert.equal(m.sum('sluice_requests_in_flight'), 0);
    assert.equal(m.sum('sluice_deployment_in_flight', { model_id: 'held-1' }), 0);
    assert.equal(m.sum('litellm_proxy_total_requests_metric_total', { requested_model: 'held', status_code: '200' }), 1);
  });

  test('the scrape passes promtool check metrics', async () => {
    const { text } = await scrape(gw);
    execFileSync('promtool', ['check', 'metrics'], { input: text });
  });
});

describe('store health with Redis', () => {
  let redis: RedisServer;
  let sim: Sim;
  let gw: TestGateway;

  before(async () => {
    redis = await startRedis();
    sim = await startOpenAISim();
    gw = await startGateway(`model_list:
  - model_name: g
    litellm_params: { model: openai/sim-model, api_base: ${sim.url}/v1, api_key: sk-up }
general_settings:
  master_key: ${MASTER}
redis:
  url: ${redis.url}
litellm_settings:
  callbacks: [prometheus]
`);
  });
  after(async () => {
    await gw.close();
    await sim.close();
    await redis.stop();
  });

  test('sluice_store_health follows Redis: ok, degraded while it is away, ok when it is back', async () => {
    const state = async (): Promise<string> => {
      const m = (await scrape(gw)).metrics;
      const on = m.find('sluice_store_health', { store: 'redis' }).filter((s) => s.value === 1);
      assert.equal(on.length, 1);
      return on[0]!.labels['state']!;
    };
    assert.equal(await state(), 'ok');
    await redis.stop();
    let now = '';
    const poll = async (want: string): Promise<void> => {
      for (let i = 0; i < 2000 && now !== want; i++) {
        now = await state();
        if (now !== want) await post(`${gw.url}/v1/chat/completions`, chat('g'), { authorization: `Bearer ${MASTER}` });
      }
      assert.equal(now, want);
    };
    await poll('degraded');
    await redis.restart();
    await poll('ok');
  });
});

describe('connections over HTTP/2', () => {
  let dir: string;
  let sim: Sim;
  let gw: TestGateway;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-h2-metrics-'));
    // A self-signed certificate for 127.0.0.1, made with the openssl CLI (.ci/run installs it).
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, stdio: 'ignore' });
    sim = await startOpenAISim();
    gw = await startGateway(
      `server:
  tls: { cert: cert.pem, key: key.pem }
model_list:
  - model_name: g
    litellm_params: { model: openai/sim-model, api_base: ${sim.url}/v1, api_key: sk-up }
plugins:
  - route.simple_shuffle
  - name: metrics
    options: { open: true, default_metrics: false }
`,
      { dir },
    );
  });
  after(async () => {
    await gw.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('one HTTP/2 connection is one open connection, whatever its streams; it is gone once closed', async () => {
    const ca = readFileSync(join(dir, 'cert.pem'));
    const session = h2connect(`https://127.0.0.1:${gw.port}`, { ca });
    await new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve());
      session.once('error', reject);
    });
    const call = (path: string, body?: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const stream = session.request({ ':method': body === undefined ? 'GET' : 'POST', ':path': path, 'content-type': 'application/json' });
        let status = 0;
        let text = '';
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        stream.on('end', () => resolve({ status, body: text }));
        stream.on('error', reject);
        stream.end(body);
      });
    const answers = await Promise.all([call('/v1/chat/completions', chat('g')), call('/v1/chat/completions', chat('g', { stream: true })), call('/v1/chat/completions', chat('g'))]);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
    const during = parsePrometheusText((await call('/metrics')).body);
    assert.equal(during.sum('sluice_open_connections'), 1);
    // HTTP/2's bytes are not counted: Node's native session writes the socket past its counters (docs/metrics.md).
    assert.equal(during.sum('sluice_client_bytes_sent_total'), 0);
    assert.equal(during.sum('sluice_client_bytes_received_total'), 0);
    await new Promise<void>((resolve) => session.close(() => resolve()));
    // The scrape below comes on a connection of its own (HTTP/1.1 over TLS); the HTTP/2 one must be gone.
    let after: Exposition | null = null;
    for (let polls = 0; after === null; polls++) {
      assert.ok(polls < 2000, 'the HTTP/2 connection is counted as closed');
      const m = parsePrometheusText(await httpsGet(gw.port, '/metrics', ca));
      if (m.sum('sluice_open_connections') === 1) after = m;
      else await sleep(10);
    }
    // HTTP/1.1 over TLS is counted: at least this scrape's request was read.
    assert.ok(after.sum('sluice_client_bytes_received_total') > 0);
  });
});

/** A GET over HTTPS/1.1 on a new connection, closed after it. */
function httpsGet(port: number, path: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, agent: false, headers: { connection: 'close' } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
}
