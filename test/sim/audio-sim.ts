// A stand-in for an OpenAI-compatible audio backend (vLLM's or OpenAI's /v1/audio/transcriptions and
// /v1/audio/translations): parses the multipart form it gets and answers with what it received, so a test can
// check that the file's bytes and the fields arrived as sent.

import Busboy from 'busboy';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedForm {
  readonly path: string;
  readonly fields: Record<string, string>;
  /** sha256 of the `file` part, and its size and name. */
  readonly fileSha256: string;
  readonly fileSize: number;
  readonly filename: string;
  readonly contentType: string;
}

export interface AudioSim {
  readonly url: string;
  readonly received: ReceivedForm[];
  /** The next N requests answer this status instead (a failing deployment). */
  failNext(count: number, status: number): void;
  close(): Promise<void>;
}

export async function startAudioSim(): Promise<AudioSim> {
  const received: ReceivedForm[] = [];
  let failures = 0;
  let failStatus = 500;
  const server: Server = createServer((req, res) => {
    const fields: Record<string, string> = {};
    const hash = createHash('sha256');
    let fileSize = 0;
    let filename = '';
    let parser: Busboy.Busboy;
    try {
      parser = Busboy({ headers: req.headers });
    } catch {
      // Not a form (a health probe's GET): what a real server answers on a path it does not serve.
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error', param: null, code: null } }));
    }
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== 'file') return void stream.resume();
      filename = info.filename ?? '';
      stream.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        fileSize += chunk.length;
      });
    });
    parser.on('close', () => {
      const form: ReceivedForm = { path: req.url ?? '', fields, fileSha256: hash.digest('hex'), fileSize, filename, contentType: req.headers['content-type'] ?? '' };
      received.push(form);
      if (failures > 0) {
        failures--;
        res.writeHead(failStatus, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ error: { message: 'simulated failure', type: 'server_error', param: null, code: null } }));
      }
      const text = `${fields['model'] ?? ''} ${form.fileSha256} ${fileSize}`;
      if (fields['response_format'] === 'text') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return void res.end(text);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ text, usage: { type: 'duration', seconds: 3 } }));
    });
    parser.on('error', () => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'bad form', type: 'invalid_request_error', param: null, code: null } }));
    });
    req.pipe(parser);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    failNext(count, status) {
      failures = count;
      failStatus = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
