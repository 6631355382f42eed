// TLS: HTTPS over HTTP/1.1 and HTTP/2 (ALPN) through real TLS clients, client certificates, the minimum version,
// the HTTP→HTTPS redirect, certificate reload under load, https:// backends, and the load-time file checks.
//
// Certificates are made at run time with the openssl CLI (a CA, two server certificates, a client certificate and a
// self-signed "rogue" client certificate) in a temporary directory.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect as h2connect, constants as h2constants, createSecureServer, type ClientHttp2Session, type IncomingHttpHeaders as Http2Headers } from 'node:http2';
import { createServer as createHttpsServer, request as httpsRequest, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { ConfigError, parseConfig } from '../core/config/load.ts';
import { parseSslVerify } from '../core/config/tls-files.ts';
import { SluiceHttp2Request, SluiceHttp2Response } from '../core/server/tls.ts';
import { chat, ROOT, startCli, startGateway, type TestGateway } from './helpers.ts';

// The certificates are made with the openssl CLI (.ci/run installs it); without it these tests fail, never skip.
const OPENSSL = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
const skip = false;
test('the openssl CLI is installed (apt-get install openssl)', () => assert.ok(OPENSSL));

const OPENSSL_CNF = `
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
subjectAltName = IP:127.0.0.1, DNS:localhost
extendedKeyUsage = serverAuth
[client]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
`;

interface Certs {
  dir: string;
  ca: Buffer;
  /** Server certificates (same CA, different keys) and their SHA-256 fingerprints. */
  server: { cert: Buffer; key: Buffer; fingerprint: string };
  server2: { cert: Buffer; key: Buffer; fingerprint: string };
  client: { cert: Buffer; key: Buffer };
  /** Self-signed: not from the CA. */
  rogue: { cert: Buffer; key: Buffer };
}

function openssl(dir: string, args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function makeCerts(): Certs {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'));
  writeFileSync(join(dir, 'openssl.cnf'), OPENSSL_CNF);
  openssl(dir, ['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Sluice Test CA', '-config', 'openssl.cnf', '-extensions', 'ca']);
  const leaf = (name: string, subject: string, extensions: string, serial: number): void => {
    openssl(dir, ['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject, '-config', 'openssl.cnf']);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(serial), '-days', '2', '-out', `${name}.pem`, '-extfile', 'openssl.cnf', '-extensions', extensions]);
  };
  leaf('server', '/CN=localhost', 'server', 2);
  leaf('server2', '/CN=localhost', 'server', 3);
  leaf('client', '/CN=test-client', 'client', 4);
  openssl(dir, ['req', '-x509', ...EC, '-keyout', 'rogue.key', '-out', 'rogue.pem', '-days', '2', '-subj', '/CN=rogue', '-config', 'openssl.cnf', '-extensions', 'client']);
  const read = (file: string): Buffer => readFileSync(join(dir, file));
  const pair = (name: string): { cert: Buffer; key: Buffer; fingerprint: string } => ({
    cert: read(`${name}.pem`),
    key: read(`${name}.key`),
    fingerprint: new X509Certificate(read(`${name}.pem`)).fingerprint256,
  });
  return { dir, ca: read('ca.pem'), server: pair('server'), server2: pair('server2'), client: pair('client'), rogue: pair('rogue') };
}

const MOCK_MODELS = `
plugins: [route.round_robin]
model_list:
  - model_name: mock-gpt
    litellm_params: { model: mock/mock-gpt, mock_response: "one two three four five six seven eight", mock_tokens: 8, mock_token_interval_ms: 10 }
  - model_name: mock-slow
    litellm_params: { model: mock/mock-slow, mock_tokens: 30, mock_token_interval_ms: 25 }
`;

/** A gateway whose relative TLS paths resolve against `dir`. */
function startTls(dir: string, tls: string, rest = MOCK_MODELS): Promise<TestGateway> {
  return startGateway(`server:\n  tls: ${tls}\n${rest}`, { dir });
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders | Http2Headers;
  body: string;
  /** Body chunks as they arrived. */
  chunks: number;
  httpVersion: string;
  fingerprint: string;
}

interface HttpsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  method?: string;
  body?: string;
  onChunk?: (chunk: Buffer) => void;
}

/** One request on a new TLS connection with node:https (it offers no ALPN, so HTTP/1.1). */
function httpsCall(port: number, path: string, options: HttpsOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
        agent: false,
        ca: options.ca,
        cert: options.cert,
        key: options.key,
      },
      (res) => {
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        let body = '';
        let chunks = 0;
        res.on('data', (chunk: Buffer) => {
          chunks++;
          body += chunk.toString('utf8');
          options.onChunk?.(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, chunks, httpVersion: res.httpVersion, fingerprint }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function h2session(port: number, ca: Buffer): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`https://127.0.0.1:${port}`, { ca });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

/** One request on an HTTP/2 session. */
function h2call(session: ClientHttp2Session, path: string, body?: string, headers: Record<string, string> = {}, onChunk?: (chunk: Buffer) => void): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': body === undefined ? 'GET' : 'POST', ':path': path, 'content-type': 'application/json', ...headers });
    let responseHeaders: Http2Headers = {};
    let text = '';
    let chunks = 0;
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('data', (chunk: Buffer) => {
      chunks++;
      text += chunk.toString('utf8');
      onChunk?.(chunk);
    });
    stream.on('end', () =>
      resolve({
        status: Number(responseHeaders[':status']),
        headers: responseHeaders,
        body: text,
        chunks,
        httpVersion: '2',
        fingerprint: (session.socket as TLSSocket).getPeerCertificate().fingerprint256,
      }),
    );
    stream.on('error', reject);
    stream.end(body);
  });
}

/** Checks an SSE body from the mock: events parse, the text comes back whole, and it ends with [DONE]. */
function assertMockStream(body: string, text: string): void {
  const events = body.split('\n\n').filter((e) => e.length > 0);
  assert.equal(events.at(-1), 'data: [DONE]');
  let content = '';
  for (const event of events.slice(0, -1)) {
    assert.ok(event.startsWith('data: '), event);
    const json = JSON.parse(event.slice(6)) as { choices: { delta: { content?: string } }[] };
    content += json.choices[0]!.delta.content ?? '';
  }
  assert.equal(content, text);
}

/** A TLS handshake alone; resolves with the negotiated protocol version and ALPN, rejects on failure. */
function handshake(port: number, options: { ca: Buffer; minVersion?: 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1.2' | 'TLSv1.3'; ALPNProtocols?: string[] }): Promise<{ version: string | null; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ...options });
    socket.once('secureConnect', () => {
      const result = { version: socket.getProtocol(), alpn: socket.alpnProtocol ?? false };
      socket.end();
      resolve(result);
    });
    socket.once('error', reject);
  });
}

describe('TLS listener', { skip }, () => {
  let certs: Certs;
  before(() => {
    certs = makeCerts();
  });
  after(() => rmSync(certs.dir, { recursive: true, force: true }));

  test('HTTPS over HTTP/1.1: chat JSON and an SSE stream from the mock arrive intact', async () => {
    const gw = await startTls(certs.dir, '{ cert: server.pem, key: server.key }');
    try {
      assert.equal(gw.listening.protocol, 'https');
      assert.equal(gw.listening.http2, true);
      const json = await httpsCall(gw.port, '/v1/chat/completions', { ca: certs.ca, body: chat('mock-gpt') });
      assert.equal(json.status, 200);
      assert.equal(json.httpVersion, '1.1');
      assert.equal(json.fingerprint, certs.server.fingerprint);
      const message = (JSON.parse(json.body) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
      assert.equal(message, 'one two three four five six seven eight');
      assert.ok(typeof json.headers['x-request-id'] === 'string');

      const sse = await httpsCall(gw.port, '/v1/chat/completions', { ca: certs.ca, body: chat('mock-gpt', { stream: true }) });
      assert.equal(sse.status, 200);
      assert.match(String(sse.headers['content-type']), /^text\/event-stream/);
      assert.ok(sse.chunks >= 5, `expected several chunks, got ${sse.chunks}`);
      assertMockStream(sse.body, 'one two three four five six seven eight');
    } finally {
      await gw.close();
    }
  });

  test('HTTP/2 by ALPN: :status 200, JSON, a stream in several chunks, gateway replies, one session', async () => {
    const gw = await startTls(certs.dir, '{ cert: server.pem, key: server.key }\n  body_limit: 1kb');
    const session = await h2session(gw.port, certs.ca);
    try {
      assert.equal(session.alpnProtocol, 'h2');
      const json = await h2call(session, '/v1/chat/completions', chat('mock-gpt'));
      assert.equal(json.status, 200);
      assert.equal(json.headers[':status'], 200);
      assert.equal(json.headers['x-litellm-model-group'], 'mock-gpt');
      assert.equal(json.headers['connection'], undefined);
      assert.match(json.body, /"content":"one two three four five six seven eight"/);

      const sse = await h2call(session, '/v1/chat/completions', chat('mock-gpt', { stream: true }));
      assert.equal(sse.status, 200);
      assert.equal(sse.headers['cache-control'], 'no-cache');
      assert.ok(sse.chunks >= 5, `expected several chunks, got ${sse.chunks}`);
      assertMockStream(sse.body, 'one two three four five six seven eight');

      // Replies the gateway makes itself: a list, a 404, a 400 and a 413 refused before the body is read.
      const models = await h2call(session, '/v1/models');
      assert.equal(models.status, 200);
      assert.match(models.body, /"id":"mock-gpt"/);
      const missing = await h2call(session, '/nope');
      assert.equal(missing.status, 404);
      assert.match(missing.body, /"code":"unknown_url"/);
      const bad = await h2call(session, '/v1/chat/completions', '{"model":');
      assert.equal(bad.status, 400);
      const tooBig = JSON.stringify({ model: 'mock-gpt', messages: [{ role: 'user', content: 'x'.repeat(2000) }] });
      const big = await h2call(session, '/v1/chat/completions', tooBig, { 'content-length': String(tooBig.length) });
      assert.equal(big.status, 413);
      assert.match(big.body, /"code":"request_too_large"/);
      // The session is still good after all that.
      assert.equal((await h2call(session, '/health/liveliness')).status, 200);
    } finally {
      session.close();
      await gw.close();
    }
  });

  test('HTTP/2 responses drop HTTP/1 connection headers instead of failing', async () => {
    // What a plugin's reply or response headers could carry; Node would throw ERR_HTTP2_INVALID_CONNECTION_HEADERS.
    const server = createSecureServer(
      { cert: certs.server.cert, key: certs.server.key, allowHTTP1: true, Http2ServerRequest: SluiceHttp2Request, Http2ServerResponse: SluiceHttp2Response },
      (_req, res) => {
        res.writeHead(200, { connection: 'close', 'Keep-Alive': 'timeout=5', 'transfer-encoding': 'chunked', upgrade: 'h2c', 'x-kept': 'yes' });
        res.end('ok');
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const session = await h2session((server.address() as AddressInfo).port, certs.ca);
    try {
      const reply = await h2call(session, '/');
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'ok');
      assert.equal(reply.headers['x-kept'], 'yes');
      for (const name of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade']) assert.equal(reply.headers[name], undefined);
    } finally {
      session.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('http2: false serves HTTP/1.1 only, even to a client that offers h2', async () => {
    const gw = await startTls(certs.dir, '{ cert: server.pem, key: server.key, http2: false }');
    try {
      assert.equal(gw.listening.http2, false);
      assert.deepEqual(await handshake(gw.port, { ca: certs.ca, ALPNProtocols: ['h2', 'http/1.1'] }), { version: 'TLSv1.3', alpn: 'http/1.1' });
      const json = await httpsCall(gw.port, '/v1/chat/completions', { ca: certs.ca, body: chat('mock-gpt') });
      assert.equal(json.status, 200);
    } finally {
      await gw.close();
    }
  });

  test('min_version: TLSv1.2 by default; TLSv1.3 refuses a TLSv1.2-only client', async () => {
    const lax = await startTls(certs.dir, '{ cert: server.pem, key: server.key }');
    try {
      assert.equal((await handshake(lax.port, { ca: certs.ca, maxVersion: 'TLSv1.2' })).version, 'TLSv1.2');
    } finally {
      await lax.close();
    }
    const strict = await startTls(certs.dir, '{ cert: server.pem, key: server.key, min_version: TLSv1.3 }');
    try {
      await assert.rejects(handshake(strict.port, { ca: certs.ca, maxVersion: 'TLSv1.2' }), (error: NodeJS.ErrnoException) => {
        assert.match(String(error.code), /ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION|ERR_SSL_UNSUPPORTED_PROTOCOL|ECONNRESET/);
        return true;
      });
      assert.equal((await handshake(strict.port, { ca: certs.ca })).version, 'TLSv1.3');
    } finally {
      await strict.close();
    }
  });

  test('client_auth: required refuses a client without a certificate and accepts one with', async () => {
    const gw = await startTls(certs.dir, '{ cert: server.pem, key: server.key, ca: ca.pem, client_auth: required }');
    try {
      await assert.rejects(httpsCall(gw.port, '/v1/models', { ca: certs.ca }));
      await assert.rejects(httpsCall(gw.port, '/v1/models', { ca: certs.ca, cert: certs.rogue.cert, key: certs.rogue.key }));
      const ok = await httpsCall(gw.port, '/v1/models', { ca: certs.ca, cert: certs.client.cert, key: certs.client.key });
      assert.equal(ok.status, 200);
      // HTTP/2 with a client certificate.
      const session = h2connect(`https://127.0.0.1:${gw.port}`, { ca: certs.ca, cert: certs.client.cert, key: certs.client.key });
      try {
        assert.equal((await h2call(session, '/v1/chat/completions', chat('mock-gpt'))).status, 200);
      } finally {
        session.close();
      }
    } finally {
      await gw.close();
    }
  });

  test('client_auth: optional accepts a client without a certificate, refuses an invalid one', async () => {
    const gw = await startTls(certs.dir, '{ cert: server.pem, key: server.key, ca: ca.pem, client_auth: optional }');
    try {
      assert.equal((await httpsCall(gw.port, '/v1/models', { ca: certs.ca })).status, 200);
      assert.equal((await httpsCall(gw.port, '/v1/models', { ca: certs.ca, cert: certs.client.cert, key: certs.client.key })).status, 200);
      await assert.rejects(httpsCall(gw.port, '/v1/models', { ca: certs.ca, cert: certs.rogue.cert, key: certs.rogue.key }));
    } finally {
      await gw.close();
    }
  });

  test('redirect_http answers 308 to the https:// URL: same host name, the TLS port, same path and query', async () => {
    const gw = await startTls(certs.dir, '{ cert: server.pem, key: server.key }\n  redirect_http: { port: 0 }');
    try {
      const redirect = gw.listening.redirect;
      assert.ok(redirect !== null);
      assert.equal(redirect.host, '127.0.0.1');
      const get = (path: string, host: string, method = 'GET', body?: string): Promise<{ status: number; headers: IncomingHttpHeaders }> =>
        new Promise((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port: redirect.port, path, method, headers: { host }, agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
          });
          req.on('error', reject);
          req.end(body);
        });
      const plain = await get('/v1/models?x=1&y=%20', 'gateway.example:8080');
      assert.equal(plain.status, 308);
      assert.equal(plain.headers.location, `https://gateway.example:${gw.port}/v1/models?x=1&y=%20`);
      const ipv6 = await get('/health', '[::1]:80');
      assert.equal(ipv6.headers.location, `https://[::1]:${gw.port}/health`);
      // 308 keeps the method; the body is not read, so the connection closes.
      const withBody = await get('/v1/chat/completions', 'localhost', 'POST', chat('mock-gpt'));
      assert.equal(withBody.status, 308);
      assert.equal(withBody.headers.location, `https://localhost:${gw.port}/v1/chat/completions`);
      assert.equal(withBody.headers.connection, 'close');
      const junk = await get('/', 'bad host/with/slash');
      assert.equal(junk.status, 400);
      // Following the redirect lands on the TLS listener.
      const followed = await httpsCall(gw.port, new URL(plain.headers.location!).pathname, { ca: certs.ca });
      assert.equal(followed.status, 200);
    } finally {
      await gw.close();
    }
  });

  test('reloadTls (SIGHUP) swaps the certificate for new connections while an open stream runs to its end', { timeout: 120_000 }, async () => {
    const live = join(certs.dir, 'live');
    mkdirSync(live, { recursive: true });
    writeFileSync(join(live, 'cert.pem'), certs.server.cert);
    writeFileSync(join(live, 'key.pem'), certs.server.key);
    const gw = await startTls(live, '{ cert: cert.pem, key: key.pem }');
    const session = await h2session(gw.port, certs.ca);
    try {
      assert.equal(gw.listening.certificate?.fingerprint256, certs.server.fingerprint);
      // One stream over HTTP/2 and one over HTTP/1.1, both under way before the reload.
      let h2Chunk!: () => void;
      let h1Chunk!: () => void;
      const started = [new Promise<void>((resolve) => (h2Chunk = resolve)), new Promise<void>((resolve) => (h1Chunk = resolve))];
      const streaming = h2call(session, '/v1/chat/completions', chat('mock-slow', { stream: true }), {}, () => h2Chunk());
      const over1 = httpsCall(gw.port, '/v1/chat/completions', { ca: certs.ca, body: chat('mock-slow', { stream: true }), onChunk: () => h1Chunk() });
      await Promise.all(started);

      copyFileSync(join(certs.dir, 'server2.pem'), join(live, 'cert.pem'));
      copyFileSync(join(certs.dir, 'server2.key'), join(live, 'key.pem'));
      const reload = gw.listening.reloadTls();
      assert.ok(reload.ok, reload.ok ? '' : reload.error);
      assert.equal(reload.certificate.fingerprint256, certs.server2.fingerprint);
      assert.equal(gw.listening.certificate?.fingerprint256, certs.server2.fingerprint);

      const fresh = await httpsCall(gw.port, '/v1/models', { ca: certs.ca });
      assert.equal(fresh.status, 200);
      assert.equal(fresh.fingerprint, certs.server2.fingerprint);
      const freshH2 = await h2session(gw.port, certs.ca);
      try {
        assert.equal((freshH2.socket as TLSSocket).getPeerCertificate().fingerprint256, certs.server2.fingerprint);
      } finally {
        freshH2.close();
      }

      // The streams opened before the reload finish on the old certificate.
      const [h2done, h1done] = await Promise.all([streaming, over1]);
      for (const done of [h2done, h1done]) {
        assert.equal(done.status, 200);
        assert.equal(done.fingerprint, certs.server.fingerprint);
        assert.ok(done.chunks >= 10, `expected the whole stream, got ${done.chunks} chunks`);
        assert.ok(done.body.endsWith('data: [DONE]\n\n'));
      }

      // A bad file keeps the current certificate, and says which file.
      writeFileSync(join(live, 'key.pem'), 'not a key\n');
      const failed = gw.listening.reloadTls();
      assert.equal(failed.ok, false);
      assert.match(failed.ok ? '' : failed.error, /key\.pem is not a PEM private key/);
      copyFileSync(join(certs.dir, 'server.key'), join(live, 'key.pem'));
      const mismatch = gw.listening.reloadTls();
      assert.match(mismatch.ok ? '' : mismatch.error, /does not belong to the certificate/);
      assert.equal((await httpsCall(gw.port, '/v1/models', { ca: certs.ca })).fingerprint, certs.server2.fingerprint);
    } finally {
      session.close();
      await gw.close();
    }
  });

  test('an HTTP/2 client that cancels its stream aborts the upstream request at once', { timeout: 120_000 }, async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    // A backend that streams until its client goes away.
    const backend = createHttpServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const timer = setInterval(() => res.write('data: {"choices":[{"delta":{"content":"x"}}]}\n\n'), 10);
      res.on('close', () => {
        clearInterval(timer);
        upstreamClosed();
      });
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const api = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    const gw = await startTls(
      certs.dir,
      '{ cert: server.pem, key: server.key }',
      `plugins: [route.round_robin]\nmodel_list:\n  - model_name: endless\n    litellm_params: { model: openai/endless, api_base: ${api} }\n`,
    );
    const session = await h2session(gw.port, certs.ca);
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/v1/chat/completions', 'content-type': 'application/json' });
      stream.end(chat('endless', { stream: true }));
      await new Promise<void>((resolve) => stream.once('data', () => resolve()));
      stream.close(h2constants.NGHTTP2_CANCEL);
      await closed;
      // Up to 20 s: a deadline for a hang, not a speed limit.
      for (let i = 0; i < 800 && gw.gateway.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(gw.gateway.inFlight, 0);
      assert.equal((await h2call(session, '/health/liveliness')).status, 200);
    } finally {
      session.close();
      await gw.close();
      await new Promise<void>((resolve) => backend.close(() => resolve()));
    }
  });

  test('an HTTP/2 client that resets its stream mid-body is never admitted: its key has its one request a minute left', { timeout: 120_000 }, async () => {
    const key = 'sk-midbody-0123456789';
    const gw = await startTls(certs.dir, '{ cert: server.pem, key: server.key }', `plugins: [auth.api_key, limit.key, route.round_robin]\nkeys: [{ key: ${key}, alias: once, rpm: 1 }]\nmodel_list: [{ model_name: mock-gpt, litellm_params: { model: mock/mock-gpt } }]\n`);
    const session = await h2session(gw.port, certs.ca);
    try {
      // A whole JSON object, short of the declared length; the reset follows the data on the same connection.
      const part = chat('mock-gpt');
      const stream = session.request({ ':method': 'POST', ':path': '/v1/chat/completions', 'content-type': 'application/json', 'content-length': String(part.length + 100), authorization: `Bearer ${key}` });
      stream.on('error', () => undefined);
      stream.write(part);
      for (let i = 0; i < 800 && gw.gateway.inFlight === 0; i++) await new Promise((r) => setTimeout(r, 25));
      stream.close(h2constants.NGHTTP2_CANCEL);
      for (let i = 0; i < 800 && gw.gateway.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(gw.gateway.inFlight, 0);
      const headers = { authorization: `Bearer ${key}` };
      assert.equal((await h2call(session, '/v1/chat/completions', chat('mock-gpt'), headers)).status, 200);
      assert.equal((await h2call(session, '/v1/chat/completions', chat('mock-gpt'), headers)).status, 429, 'the limit is one a minute');
    } finally {
      session.close();
      await gw.close();
    }
  });

  test('close() lets an open HTTP/2 stream finish, then stops', { timeout: 120_000 }, async () => {
    const gw = await startTls(certs.dir, '{ cert: server.pem, key: server.key }');
    const session = await h2session(gw.port, certs.ca);
    let firstChunk!: () => void;
    const started = new Promise<void>((resolve) => (firstChunk = resolve));
    const streaming = h2call(session, '/v1/chat/completions', chat('mock-slow', { stream: true }), {}, () => firstChunk());
    await started;
    const closing = gw.listening.close(5000);
    const done = await streaming;
    assert.ok(done.body.endsWith('data: [DONE]\n\n'));
    await closing;
    await assert.rejects(h2session(gw.port, certs.ca));
  });
});

describe('https:// backends: tls_ca and ssl_verify', { skip }, () => {
  let certs: Certs;
  let backend: HttpsServer;
  let origin: string;
  const seen: { headers: IncomingHttpHeaders; body: Record<string, unknown> }[] = [];
  const FIXED = JSON.stringify({
    id: 'chatcmpl-tls',
    object: 'chat.completion',
    created: 1,
    model: 'backend-model',
    choices: [{ index: 0, message: { role: 'assistant', content: 'over https' }, finish_reason: 'stop' }],
  });

  before(async () => {
    certs = makeCerts();
    backend = createHttpsServer({ cert: certs.server.cert, key: certs.server.key }, (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/chat/completions') {
          seen.push({ headers: req.headers, body: JSON.parse(body) as Record<string, unknown> });
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(FIXED) });
          res.end(FIXED);
          return;
        }
        if (req.method === 'GET' && req.url === '/v1/models') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
          return;
        }
        res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    origin = `https://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => backend.close(() => resolve()));
    rmSync(certs.dir, { recursive: true, force: true });
  });

  const models = (): string => `
plugins: [route.round_robin]
router_settings: { num_retries: 0 }
model_list:
  - model_name: with-ca
    litellm_params: { model: openai/backend-model, api_base: ${origin}, api_key: sk-test, tls_ca: ca.pem }
  - model_name: bundle
    litellm_params: { model: openai/backend-model, api_base: ${origin}/v1, ssl_verify: ./ca.pem }
  - model_name: no-verify
    litellm_params: { model: openai/backend-model, api_base: ${origin}, ssl_verify: false }
  - model_name: default-trust
    litellm_params: { model: openai/backend-model, api_base: ${origin} }
`;

  test('tls_ca and ssl_verify reach the backend; without either the certificate is refused (502)', async () => {
    // Through an HTTP/2 client, so the forwarded headers also show that no pseudo-header reaches the backend.
    const gw = await startTls(certs.dir, '{ cert: server.pem, key: server.key }', models());
    const session = await h2session(gw.port, certs.ca);
    try {
      for (const model of ['with-ca', 'bundle', 'no-verify']) {
        const reply = await h2call(session, '/v1/chat/completions', chat(model), { 'x-trace': 'abc' });
        assert.equal(reply.status, 200, `${model}: ${reply.body}`);
        assert.equal(reply.body, FIXED);
        assert.equal(reply.headers['x-litellm-model-api-base'], `${origin}/v1`);
      }
      assert.equal(seen.length, 3);
      assert.equal(seen[0]!.body['model'], 'backend-model');
      assert.equal(seen[0]!.headers['authorization'], 'Bearer sk-test');
      assert.equal(seen[0]!.headers['x-trace'], 'abc');
      for (const { headers } of seen) {
        assert.deepEqual(Object.keys(headers).filter((name) => name.startsWith(':')), []);
        assert.equal(headers['host'], origin.slice('https://'.length));
      }

      // Same origin, default trust store: a separate pool, and the test CA is unknown to it.
      const refused = await h2call(session, '/v1/chat/completions', chat('default-trust'));
      assert.equal(refused.status, 502, refused.body);
      const error = (JSON.parse(refused.body) as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'upstream_unreachable');
      assert.match(error.message, /failed TLS certificate verification \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)\)/);
      assert.equal(seen.length, 3);
      // And the pool with the CA still works after the refusal on the same origin.
      assert.equal((await h2call(session, '/v1/chat/completions', chat('with-ca'))).status, 200);
    } finally {
      session.close();
      await gw.close();
    }
  });

  test('health probes use the deployment\'s TLS settings', async () => {
    const gw = await startGateway(
      models().replace('plugins: [route.round_robin]', 'plugins: [route.round_robin, { name: health.active, options: { interval: 0.05, fall: 1, rise: 1 } }]'),
      { dir: certs.dir },
    );
    try {
      let report: { unhealthy_endpoints: { model_name: string; error: string }[]; healthy_endpoints: { model_name: string }[] } | null = null;
      // Up to 20 s: a deadline for a hang, not a speed limit.
      for (let i = 0; i < 400; i++) {
        await new Promise((r) => setTimeout(r, 50));
        report = (await (await fetch(`http://127.0.0.1:${gw.port}/health`)).json()) as typeof report;
        if (report!.unhealthy_endpoints.length > 0) break;
      }
      assert.deepEqual(report!.healthy_endpoints.map((e) => e.model_name).sort(), ['bundle', 'no-verify', 'with-ca']);
      assert.deepEqual(report!.unhealthy_endpoints.map((e) => e.model_name), ['default-trust']);
      assert.match(report!.unhealthy_endpoints[0]!.error, /probe GET \/v1\/models/);
    } finally {
      await gw.close();
    }
  });

  test('with the default retries, the refusal is retried and then reported the same way', async () => {
    const gw = await startGateway(models().replace('router_settings: { num_retries: 0 }\n', ''), { dir: certs.dir });
    try {
      const refused = await httpsCallPlain(gw.port, chat('default-trust'));
      assert.ok(refused.status === 502 || refused.status === 503, refused.body);
      assert.match(refused.body, /TLS certificate verification/);
    } finally {
      await gw.close();
    }
  });
});

/** A POST over plain HTTP to the gateway. */
function httpsCallPlain(port: number, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('TLS configuration is checked at load', { skip }, () => {
  let certs: Certs;
  before(() => {
    certs = makeCerts();
  });
  after(() => rmSync(certs.dir, { recursive: true, force: true }));

  const load = (yaml: string): ReturnType<typeof parseConfig> => parseConfig(yaml, join(certs.dir, 'proxy.yaml'), {});
  const errorsOf = (yaml: string): readonly string[] => {
    try {
      load(yaml);
    } catch (error) {
      if (error instanceof ConfigError) return error.errors;
      throw error;
    }
    assert.fail('expected a ConfigError');
  };

  test('defaults, and paths relative to the config file', () => {
    const config = load('server:\n  tls: { cert: server.pem, key: server.key }\n');
    assert.deepEqual(config.server.tls, {
      cert: join(certs.dir, 'server.pem'),
      key: join(certs.dir, 'server.key'),
      ca: null,
      clientAuth: 'none',
      minVersion: 'TLSv1.2',
      http2: true,
    });
    assert.equal(config.server.redirectHttp, null);
    const mtls = load('server:\n  tls: { cert: server.pem, key: server.key, ca: ca.pem }\n  redirect_http: { port: 8080 }\n');
    assert.equal(mtls.server.tls?.clientAuth, 'required');
    assert.deepEqual(mtls.server.redirectHttp, { port: 8080, host: null });
    assert.equal(load('').server.tls, null);
  });

  test('missing or unusable files are reported with their path and line', () => {
    const errors = errorsOf('server:\n  port: 4443\n  tls:\n    cert: missing.pem\n    key: nope/missing.key\n');
    assert.deepEqual(errors, [
      `line 4: server.tls.cert: cannot read ${join(certs.dir, 'missing.pem')} (ENOENT)`,
      `line 5: server.tls.key: cannot read ${join(certs.dir, 'nope/missing.key')} (ENOENT)`,
    ]);
    assert.match(errorsOf('server:\n  tls: { cert: server.pem, key: server2.key }\n')[0]!, /line 2: server\.tls: the key .*server2\.key does not belong to the certificate .*server\.pem/);
    assert.match(errorsOf('server:\n  tls: { cert: openssl.cnf, key: server.key }\n')[0]!, /server\.tls\.cert: .*openssl\.cnf is not a PEM certificate/);
    assert.match(errorsOf('server:\n  tls: { cert: server.pem, key: server.key, ca: server.key }\n')[0]!, /server\.tls\.ca: .*server\.key is not a PEM certificate bundle/);
    const upstream = errorsOf('model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/m\n      api_base: https://127.0.0.1:1\n      tls_ca: gone.pem\n');
    assert.deepEqual(upstream, [`line 6: model_list[0].litellm_params.tls_ca: cannot read ${join(certs.dir, 'gone.pem')} (ENOENT)`]);
  });

  test('server.tls and server.redirect_http are strict', () => {
    const errors = errorsOf(
      'server:\n  tls: { cert: a.pem, key: b.pem, min_version: TLSv1.1, colour: blue, client_auth: optional }\n  redirect_http: { port: 70000, to: x }\n',
    );
    assert.ok(errors.some((e) => /server\.tls: unknown key "colour"/.test(e)), errors.join('\n'));
    assert.ok(errors.some((e) => /server\.tls\.min_version: must be one of "TLSv1\.2", "TLSv1\.3"/.test(e)), errors.join('\n'));
    assert.ok(errors.some((e) => /server\.tls: .*ca/.test(e)), errors.join('\n'));
    assert.ok(errors.some((e) => /server\.redirect_http\.port: must be <= 65535/.test(e)), errors.join('\n'));
    assert.ok(errors.some((e) => /server\.redirect_http: unknown key "to"/.test(e)), errors.join('\n'));
    assert.ok(errorsOf('server:\n  tls: { cert: a.pem }\n').some((e) => /missing required key "key"/.test(e)));
    assert.ok(errorsOf('server:\n  redirect_http: { port: 80 }\n').some((e) => /server: .*tls/.test(e)));
  });

  test('--check reports a missing certificate with its path', () => {
    const file = join(certs.dir, 'check.yaml');
    writeFileSync(file, 'server:\n  tls:\n    cert: /nonexistent/cert.pem\n    key: server.key\nmodel_list: []\n');
    const result = spawnSync(process.execPath, [join(ROOT, 'core', 'main.js'), '--config', file, '--check'], { encoding: 'utf8' });
    assert.equal(result.status, 1, result.stdout);
    assert.match(result.stderr, /line 3: server\.tls\.cert: cannot read \/nonexistent\/cert\.pem \(ENOENT\)/);
    writeFileSync(file, 'server:\n  tls: { cert: server.pem, key: server.key }\nmodel_list: []\n');
    const ok = spawnSync(process.execPath, [join(ROOT, 'core', 'main.js'), '--config', file, '--check'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
  });

  test('the CLI reloads on SIGHUP and logs the new certificate, or refuses the reload with the error', { timeout: 120_000 }, async () => {
    const live = join(certs.dir, 'cli');
    mkdirSync(live, { recursive: true });
    writeFileSync(join(live, 'cert.pem'), certs.server.cert);
    writeFileSync(join(live, 'key.pem'), certs.server.key);
    const file = join(live, 'proxy.yaml');
    writeFileSync(file, 'server:\n  tls: { cert: cert.pem, key: key.pem }\nplugins: [route.round_robin]\nmodel_list: []\n');
    const { child, waitFor } = startCli(file);
    try {
      const port = Number((await waitFor(/listening on https:\/\/127\.0\.0\.1:(\d+)/))[1]);
      copyFileSync(join(certs.dir, 'server2.pem'), join(live, 'cert.pem'));
      copyFileSync(join(certs.dir, 'server2.key'), join(live, 'key.pem'));
      child.kill('SIGHUP');
      await waitFor(new RegExp(`SIGHUP: reloaded TLS certificate .*sha256=${certs.server2.fingerprint}`));
      await waitFor(/SIGHUP: config reloaded/);
      assert.equal((await httpsCall(port, '/v1/models', { ca: certs.ca })).fingerprint, certs.server2.fingerprint);
      writeFileSync(join(live, 'cert.pem'), 'broken\n');
      child.kill('SIGHUP');
      await waitFor(/SIGHUP: config refused, the running config keeps serving/);
      await waitFor(/SIGHUP: .*cert\.pem is not a PEM certificate/);
      assert.equal((await httpsCall(port, '/v1/models', { ca: certs.ca })).status, 200);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('ssl_verify: false and "false" turn verification off; a string is a CA bundle', () => {
    assert.equal(parseSslVerify(false), false);
    assert.equal(parseSslVerify('False'), false);
    assert.equal(parseSslVerify('true'), true);
    assert.equal(parseSslVerify('/etc/ssl/ca.pem'), '/etc/ssl/ca.pem');
    assert.equal(parseSslVerify(undefined), undefined);
  });
});
