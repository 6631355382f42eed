// LiteLLM's pass_through_endpoints: paths forwarded untouched to another server (http-proxy-3), with their own
// headers, open or behind the gateway's keys, WebSocket upgrades included.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { App } from '../core/app.ts';
import { ConfigError, parseConfig } from '../core/config/load.ts';
import { createLogger } from '../core/logger.ts';
import { STANDARD_MODULES } from '../plugins/standard.ts';
import { errorOf, post, ROOT, startGateway, type TestGateway } from './helpers.ts';

const MASTER = 'sk-master-pass-0001';
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC11B65';

describe('pass_through_endpoints', () => {
  const seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const backend = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(207, { 'content-type': 'application/x-custom', 'x-backend': 'yes' });
      res.end(`echo:${body}`);
    });
  });
  // A WebSocket backend: completes the handshake and sends one text frame.
  const upgradedAtBackend: Duplex[] = [];
  backend.on('upgrade', (req, socket) => {
    upgradedAtBackend.push(socket);
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}${WS_GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`);
    const text = Buffer.from(`hello ${req.url}`);
    socket.write(Buffer.concat([Buffer.from([0x81, text.length]), text]));
  });
  let gw: TestGateway;
  let target: string;

  before(async () => {
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    target = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    process.env['SLUICE_TEST_PASS_KEY'] = 'backend-secret';
    gw = await startGateway(`
general_settings:
  master_key: ${MASTER}
  pass_through_endpoints:
    - path: /cohere/rerank
      target: ${target}/v1/rerank
      headers: { Authorization: "bearer os.environ/SLUICE_TEST_PASS_KEY", x-extra: fixed }
    - path: /svc
      target: ${target}/base
      include_subpath: true
      auth: true
      forward_headers: true
model_list:
  - model_name: mock
    litellm_params: { model: mock/m }
`);
  });
  after(async () => {
    await gw.close();
    // Upgraded sockets are no longer the server's to close.
    for (const socket of upgradedAtBackend) socket.destroy();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  });

  test('a path goes to its target with its own headers; the answer comes back as it was', async () => {
    const res = await post(`${gw.url}/cohere/rerank?top_n=2`, '{"query":"q"}', { 'x-client-only': 'dropped' });
    assert.equal(res.status, 207);
    assert.equal(res.headers['content-type'], 'application/x-custom');
    assert.equal(res.headers['x-backend'], 'yes');
    assert.equal(res.body.toString(), 'echo:{"query":"q"}');
    const request = seen.at(-1)!;
    assert.equal(request.url, '/v1/rerank?top_n=2');
    assert.equal(request.headers['authorization'], 'bearer backend-secret', 'os.environ/ inside a header value reads the environment');
    assert.equal(request.headers['x-extra'], 'fixed');
    assert.equal(request.headers['x-client-only'], undefined, 'without forward_headers, client headers stay behind');
    assert.equal(request.headers['content-type'], 'application/json');
  });

  test('include_subpath and auth: subpaths follow the target; a key is needed and never forwarded', async () => {
    const refused = await post(`${gw.url}/svc/a/b`, 'x');
    assert.equal(refused.status, 401);
    const before = seen.length;
    const res = await post(`${gw.url}/svc/a/b`, 'x', { authorization: `Bearer ${MASTER}`, 'x-client': 'kept' });
    assert.equal(res.status, 207);
    const request = seen.at(-1)!;
    assert.equal(seen.length, before + 1, 'the refused request never reached the target');
    assert.equal(request.url, '/base/a/b');
    assert.equal(request.headers['authorization'], undefined, "the gateway's key stays at the gateway");
    assert.equal(request.headers['x-client'], 'kept', 'forward_headers passes the client headers on');
    // Without include_subpath, only the path itself passes.
    assert.equal((await post(`${gw.url}/cohere/rerank/more`, '{}', { authorization: `Bearer ${MASTER}` })).status, 404);
  });

  test('WebSocket upgrades pass through, behind the key when the entry asks for one', async () => {
    const upgrade = (headers: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = connect(gw.port, '127.0.0.1');
        let received = '';
        socket.on('data', (data: Buffer) => {
          received += data.toString('latin1');
          // The 101 and the backend's first frame, or a refusal.
          if (received.includes('hello') || /^HTTP\/1\.1 4\d\d/.test(received)) {
            socket.destroy();
            resolve(received);
          }
        });
        socket.on('error', reject);
        socket.write(`GET /svc/live HTTP/1.1\r\nHost: x\r\n${headers}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
    const accepted = await upgrade(`Authorization: Bearer ${MASTER}\r\n`);
    assert.match(accepted, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(accepted, /\r\nsec-websocket-accept: [A-Za-z0-9+/]{27}=\r\n/, "the backend's handshake answer reaches the client");
    assert.ok(accepted.endsWith('hello /base/live'), 'then its frames');
    assert.match(await upgrade(''), /^HTTP\/1\.1 401/, 'no key, no upgrade');
  });

  test('an unreachable target is a 502 in the OpenAI shape; the gateway keeps serving', async () => {
    const dead = await startGateway(`
general_settings:
  pass_through_endpoints: [{ path: /dead, target: "http://127.0.0.1:1/x" }]
model_list: [{ model_name: mock, litellm_params: { model: mock/m } }]
`);
    try {
      const res = await post(`${dead.url}/dead`, '{}');
      assert.equal(res.status, 502);
      assert.equal(errorOf(res).code, 'upstream_unreachable');
      assert.equal((await post(`${dead.url}/v1/chat/completions`, JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'hi' }] }))).status, 200);
    } finally {
      await dead.close();
    }
  });

  test('a header credential from an unset environment variable refuses to start, naming it', async () => {
    const config = parseConfig(
      `
general_settings:
  pass_through_endpoints: [{ path: /p, target: "http://127.0.0.1:9/x", headers: { Authorization: "Bearer os.environ/SLUICE_TEST_UNSET_VAR" } }]
model_list: [{ model_name: mock, litellm_params: { model: mock/m } }]
`,
      `${ROOT}/test-config.yaml`,
      {},
    );
    delete process.env['SLUICE_TEST_UNSET_VAR'];
    await assert.rejects(App.create(config, STANDARD_MODULES, createLogger('silent')), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /pass_through_endpoints\[0\]\.headers\.Authorization: environment variable SLUICE_TEST_UNSET_VAR is not set/);
      return true;
    });
  });
});
