// Plumbing shared by the OpenAI and Ollama simulators: the HTTP server, request accounting, abort tracking,
// the timed stream pump and the deterministic answer/embedding helpers.

import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';

export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string without its `?`, or empty. */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface SimStats {
  requests: number;
  aborts: number;
  lastRequest: RecordedRequest | null;
  /** The last POST: unlike `lastRequest`, never a health probe's or a discovery poll's GET that came after it. */
  lastPost: RecordedRequest | null;
  abortTimes: number[];
}

/** One request in flight. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  path: string;
  /** The query string without its `?`, or empty. */
  query: string;
  body: string;
  /** The pending delay or stream timer; cleared when the connection closes. */
  timer: NodeJS.Timeout | null;
  /** Set when the simulator cut the connection itself, so it is not counted as a client abort. */
  dropped: boolean;
}

export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function createStats(): SimStats {
  return { requests: 0, aborts: 0, lastRequest: null, lastPost: null, abortTimes: [] };
}

export interface SimServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts an HTTP server that reads each body whole, records it, then hands the exchange to `handle`. */
export async function startSimServer(
  stats: SimStats,
  handle: (ex: Exchange) => void,
  port = 0,
  host = '127.0.0.1',
): Promise<SimServer> {
  let closing = false;
  // noDelay so every res.write leaves as its own segment instead of waiting on Nagle.
  const server = createServer({ noDelay: true, keepAliveTimeout: 30_000 }, (req, res) => {
    stats.requests++;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const ex: Exchange = { req, res, path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), body: '', timer: null, dropped: false };
    res.on('close', () => {
      if (ex.timer !== null) {
        clearTimeout(ex.timer);
        ex.timer = null;
      }
      if (!res.writableFinished && !ex.dropped && !closing) {
        stats.aborts++;
        stats.abortTimes.push(nowMs());
      }
    });
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      ex.body += chunk;
    });
    req.on('end', () => {
      stats.lastRequest = { method: req.method ?? 'GET', path: ex.path, query: ex.query, headers: req.headers, body: ex.body };
      if (req.method === 'POST') stats.lastPost = stats.lastRequest;
      if (!res.destroyed) handle(ex);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    server,
    url: `http://${shownHost}:${actual}`,
    port: actual,
    close(): Promise<void> {
      closing = true;
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive and mid-stream sockets would otherwise hold close() open; their 'close' clears the timers.
        server.closeAllConnections();
      });
    },
  };
}

/** Runs `fn` after `ms`, or synchronously when `ms` is 0 so the zero-delay path costs no timer. */
export function after(ex: Exchange, ms: number, fn: () => void): void {
  if (ms > 0) {
    ex.timer = setTimeout(() => {
      ex.timer = null;
      if (!ex.res.destroyed) fn();
    }, ms);
  } else {
    fn();
  }
}

export function sendBody(res: ServerResponse, status: number, contentType: string, body: string, extra?: Record<string, string>): void {
  const headers: Record<string, string | number> = { 'content-type': contentType, 'content-length': Buffer.byteLength(body) };
  if (extra !== undefined) Object.assign(headers, extra);
  res.writeHead(status, headers);
  res.end(body);
}

/** Cuts the connection once everything written so far has reached the kernel, so the client sees exactly that much. */
export function drop(ex: Exchange): void {
  ex.dropped = true;
  const res = ex.res;
  // headersSent turns true at writeHead, before anything reaches the socket; flushing again writes nothing.
  res.flushHeaders();
  const socket = res.socket;
  if (socket === null || socket.destroyed) return;
  // An empty write on the socket itself completes only after the writes queued before it.
  socket.write('', () => socket.destroy());
}

/** Sends a JSON body with its full content-length, but only the first half of the bytes before cutting. */
export function sendHalfAndDrop(ex: Exchange, body: string, contentType: string): void {
  const bytes = Buffer.from(body);
  ex.res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length });
  ex.res.write(bytes.subarray(0, bytes.length >> 1));
  drop(ex);
}

export interface StreamPlan {
  /**
   * Each event's JSON without its closing brace, so a send timestamp can be spliced in at write time; a function
   * is rendered when its turn comes (for content that depends on the send time).
   */
  events: (string | (() => string))[];
  /** Events from this index on are written back to back, one interval after the previous event. */
  tailFrom: number;
  /** SSE framing with a final `data: [DONE]`; otherwise NDJSON. */
  sse: boolean;
  stamp: boolean;
  intervalMs: number;
  /** Cut the connection after this many events, never sending the terminator. */
  dropAfter: number | null;
}

/** Writes the events (headers must already be set) with the planned spacing; stops as soon as the socket closes. */
export function pumpStream(ex: Exchange, plan: StreamPlan): void {
  const { events, tailFrom, sse, stamp, intervalMs } = plan;
  const res = ex.res;
  const n = events.length;
  const dropAt = plan.dropAfter === null ? -1 : Math.min(Math.max(plan.dropAfter, 0), n);
  let i = 0;
  const pump = (): void => {
    ex.timer = null;
    if (res.destroyed) return;
    for (;;) {
      const end = i < tailFrom ? i + 1 : n;
      while (i < end) {
        if (i === dropAt) return drop(ex);
        const e = events[i++]!;
        const ev = typeof e === 'string' ? e : e();
        const tail = stamp ? ',"sim_sent_at":' + nowMs() + '}' : '}';
        res.write(sse ? 'data: ' + ev + tail + '\n\n' : ev + tail + '\n');
      }
      if (i >= n) {
        if (dropAt === n) return drop(ex);
        if (sse) res.write('data: [DONE]\n\n');
        res.end();
        return;
      }
      if (intervalMs > 0) {
        ex.timer = setTimeout(pump, intervalMs);
        return;
      }
    }
  };
  pump();
}

/** Parses a request body that must be a JSON object; null when it is not. */
export function parseObject(body: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export interface Answer {
  /** The answer's tokens; each but the last keeps its trailing space, so their concatenation is `text`. */
  pieces: string[];
  /** JSON string literals of `pieces`, precomputed for the stream templates. */
  piecesJson: string[];
  text: string;
}

export function buildAnswer(text: string | null, tokens: number): Answer {
  const words = text !== null ? text.split(' ').filter((w) => w !== '') : Array.from({ length: Math.max(0, tokens) }, (_, i) => `tok${i}`);
  const pieces = words.map((w, i) => (i < words.length - 1 ? w + ' ' : w));
  return { pieces, piecesJson: pieces.map((p) => JSON.stringify(p)), text: words.join(' ') };
}

/** Returns a memoised builder: knobs rarely change, so most requests reuse the previous answer. */
export function answerCache(): (text: string | null, tokens: number) => Answer {
  let lastText: string | null = null;
  let lastTokens = -1;
  let last: Answer | null = null;
  return (text, tokens) => {
    if (last === null || text !== lastText || tokens !== lastTokens) {
      last = buildAnswer(text, tokens);
      lastText = text;
      lastTokens = tokens;
    }
    return last;
  };
}

/** About four characters per token, OpenAI's rule of thumb; at least 1. */
export function estimateTokens(chars: number): number {
  return Math.max(1, Math.ceil(chars / 4));
}

function textChars(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value)) {
    let sum = 0;
    for (const item of value) sum += textChars(item);
    return sum;
  }
  if (typeof value === 'object' && value !== null) {
    const v = value as { content?: unknown; text?: unknown };
    return textChars(v.content) + textChars(v.text);
  }
  return 0;
}

/** Prompt size of a chat (`messages`) or completion (`prompt`) body, counting only the text. */
export function promptTokens(body: Record<string, unknown>): number {
  return estimateTokens(textChars(body['messages']) + textChars(body['prompt']));
}

/** Splits an embeddings `input` into its items: a string, strings, a token array or token arrays. */
export function embeddingInputs(input: unknown): unknown[] | null {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return null;
  if (typeof input[0] === 'number') return [input];
  return input;
}

/** A unit vector of length 8 from the item's hash, so equal inputs embed equally across runs. */
export function embed(item: unknown): number[] {
  const digest = createHash('sha256').update(typeof item === 'string' ? item : JSON.stringify(item)).digest();
  const v: number[] = new Array<number>(8);
  let norm = 0;
  for (let i = 0; i < 8; i++) {
    const x = digest.readInt32LE(i * 4) / 2147483648;
    v[i] = x;
    norm += x * x;
  }
  norm = Math.sqrt(norm) || 1;
  // Rounded through float32 so the float and base64 encodings describe the same numbers.
  for (let i = 0; i < 8; i++) v[i] = Math.fround(v[i]! / norm);
  return v;
}

export function embeddingBase64(v: number[]): string {
  return Buffer.from(Float32Array.from(v).buffer).toString('base64');
}
