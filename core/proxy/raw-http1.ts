// A plain-HTTP/1.1 upstream client on net.Socket, for http:// origins: one write per request, the answer's head and
// framing parsed here. It speaks undici's DispatchHandler API, so an attempt cannot tell it from an undici Pool.
//
// Why not undici here: on the gateway's hot path, undici's Pool (llhttp in wasm, its request object and handler
// plumbing) was the largest single cost; bench/upstream-ceiling.ts compares the two. undici still serves https://,
// deployments with TLS settings, and requests whose body is a stream (uploads).
//
// Error codes follow undici's (UND_ERR_*, and HPE_* for a malformed answer, as its parser names them), so
// mapUpstreamError treats both clients alike and the retry loop retries the same failures.

import { connect, type Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import { Pool } from './undici.ts';
import type { UpstreamDispatcher, UpstreamOptions } from './pools.ts';

/** Largest response head (status line and headers), as Node's own HTTP parser; also bounds trailers. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Longest chunk-size line, extensions included. */
const MAX_CHUNK_LINE_BYTES = 4096;
/** A server's `Keep-Alive: timeout=N` is trusted only this much short of N, so we never write to a closing socket. */
const KEEP_ALIVE_SLACK_MS = 1000;

type Headers = Record<string, string | string[]>;

/** A transport or protocol failure, with undici's code for the same failure. */
export class UpstreamHttpError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UpstreamHttpError';
    this.code = code;
  }
}

const malformed = (code: string, what: string): UpstreamHttpError => new UpstreamHttpError(code, `malformed upstream response: ${what}`);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * Control characters other than tab (and DEL) are never valid in a header value, and characters above U+00FF are
 * refused because the head is written as latin1, which keeps only their low byte ("\u010d\u010a" would be CR LF).
 */
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f\u0100-\uffff]/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?$/;
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;[^\x00-\x08\x0a-\x1f\x7f]*)?$/;
const PATH = /^\/[^\x00-\x20\x7f\u0100-\uffff]*$/;
const NON_ASCII = /[^\x00-\x7f]/;
const KEEP_ALIVE_TIMEOUT = /(?:^|[,;\s])timeout=(\d+)/i;

/**
 * One request on its way: the handler's controller, from dispatch until the answer ended or failed. Waits in the
 * origin's queue while every allowed socket is busy.
 */
class Exchange implements Dispatcher.DispatchController {
  readonly handler: Dispatcher.DispatchHandler;
  readonly head: string;
  readonly body: string | Uint8Array | null;
  readonly isHead: boolean;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  connection: Connection | null = null;
  /** Ended, failed or aborted: nothing more reaches the handler. */
  done = false;
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;
  readonly #pool: RawHttp1Dispatcher;

  constructor(pool: RawHttp1Dispatcher, handler: Dispatcher.DispatchHandler, head: string, body: string | Uint8Array | null, isHead: boolean, timeouts: { headers: number; body: number }) {
    this.#pool = pool;
    this.handler = handler;
    this.head = head;
    this.body = body;
    this.isHead = isHead;
    this.headersTimeoutMs = timeouts.headers;
    this.bodyTimeoutMs = timeouts.body;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  abort(reason: Error): void {
    if (this.done) return;
    this.#aborted = true;
    this.#reason = reason;
    this.fail(reason);
  }

  pause(): void {
    if (this.done) return;
    this.#paused = true;
    this.connection?.pauseReading();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (!this.done) this.connection?.resumeReading();
  }

  /** Ends the exchange with `error`: its socket is destroyed (its state is unknown), the handler told once. */
  fail(error: Error): void {
    if (this.done) return;
    this.done = true;
    const connection = this.connection;
    this.connection = null;
    if (connection === null) this.#pool.unqueue(this);
    else connection.destroy();
    try {
      this.handler.onResponseError?.(this, error);
    } catch {
      // The handler's own failure while reporting one: nothing left to tell.
    }
  }
}

type Phase = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'until-close';

/**
 * Every upstream socket reads into this one buffer (net's `onread`), which skips the stream machinery between the
 * socket and the parser ('data' events, a Buffer made per read, ticks to read more). A read is handled before the
 * next can land in it, and its bytes are copied once (see #onData), since the parser and the handlers keep them.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** One keep-alive socket to the origin and the parser of the answers on it. */
class Connection {
  readonly socket: Socket;
  readonly #pool: RawHttp1Dispatcher;
  #exchange: Exchange | null = null;
  /** Bytes received and not yet parsed. */
  #buffer: Buffer | null = null;
  /** Where the search for the head's end resumes (bytes before it were searched). */
  #scanned = 0;
  #phase: Phase = 'head';
  /** Body bytes left in the current content-length body or chunk. */
  #remaining = 0;
  #trailers: Headers = {};
  #trailerBytes = 0;
  /** The current answer allows the socket to carry another request. */
  #reusable = true;
  #parsing = false;
  /** The server closed its side (or the socket closed): what is buffered is all there will be. */
  #ended = false;
  #socketError: Error | null = null;
  #gone = false;
  /**
   * The phase's deadline (performance.now() ms, 0 = none): silence from the server for `#deadlineMs` fails the
   * exchange with `#deadlineCode`. Moving it costs no timer work: the socket's one timer, kept across requests,
   * is set again for the rest when it fires before the deadline, and is only replaced by a nearer deadline.
   */
  #deadline = 0;
  #deadlineMs = 0;
  #deadlineCode = '';
  #deadlineWhat = '';
  #timer: NodeJS.Timeout | null = null;
  /** When `#timer` fires. */
  #timerAt = 0;
  #connectTimer: NodeJS.Timeout | null = null;
  /** When an idle socket stops being offered (ms, performance.now()). */
  expiresAt = 0;
  /** The last answer's `Keep-Alive: timeout`, less the slack (ms); null when it gave none. */
  keepAliveHintMs: number | null = null;

  constructor(pool: RawHttp1Dispatcher, host: string, port: number, connectTimeoutMs: number) {
    this.#pool = pool;
    this.socket = connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        // Pausing goes through socket.pause(), which net honours with `onread` too; true never resumes a pause.
        callback: (bytes: number): boolean => {
          this.#onData(READ_BUFFER.subarray(0, bytes));
          return true;
        },
      },
    });
    if (connectTimeoutMs > 0) {
      this.#connectTimer = setTimeout(() => {
        this.socket.destroy(new UpstreamHttpError('UND_ERR_CONNECT_TIMEOUT', `connect timed out after ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      this.socket.once('connect', () => this.#clearConnectTimer());
    }
    this.socket.on('end', () => this.#onEnd());
    this.socket.on('error', (error: Error) => {
      this.#socketError ??= error;
    });
    this.socket.on('close', () => this.#onClose());
  }

  /** Writes `exchange`'s request, head and body in one write. */
  send(exchange: Exchange): void {
    this.#exchange = exchange;
    exchange.connection = this;
    this.#phase = 'head';
    this.#scanned = 0;
    this.#reusable = true;
    this.keepAliveHintMs = null;
    this.#arm(exchange.headersTimeoutMs, 'UND_ERR_HEADERS_TIMEOUT', 'no response headers');
    // Busy: it holds the process open, as undici's do (idle sockets do not, see release()).
    this.socket.ref();
    // The last answer may have ended with its reader paused (a bodiless one); this one reads unless paused already.
    if (exchange.paused) this.socket.pause();
    else if (this.socket.isPaused()) this.socket.resume();
    const { head, body } = exchange;
    if (body === null) this.socket.write(head, 'latin1');
    else if (typeof body === 'string' && !NON_ASCII.test(head)) this.socket.write(head + body);
    else {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      this.socket.write(Buffer.concat([Buffer.from(head, 'latin1'), bytes]));
    }
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    // The body deadline counts silence from the server, not a client that stopped reading: it starts again now.
    this.#restartDeadline();
    this.#parse();
    if (this.#exchange !== null && !this.#exchange.paused && !this.#gone) this.socket.resume();
  }

  /** Ends the request on this socket, if any, with `error`, and closes the socket. */
  abandon(error: Error): void {
    if (this.#exchange !== null) this.#exchange.fail(error);
    else this.destroy();
  }

  /** Closes the socket for good and leaves the pool. */
  destroy(): void {
    this.#exchange = null;
    this.#leave();
    this.socket.destroy();
  }

  #leave(): void {
    this.#deadline = 0;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#clearConnectTimer();
    if (this.#gone) return;
    this.#gone = true;
    this.#pool.forget(this);
  }

  /** `read` is a view of READ_BUFFER, valid until this returns: what is kept is copied, once. */
  #onData(read: Buffer): void {
    if (this.#exchange === null) {
      // Bytes nobody asked for: the socket's state is unknown.
      this.destroy();
      return;
    }
    this.#buffer = this.#buffer === null || this.#buffer.length === 0 ? Buffer.from(read) : Buffer.concat([this.#buffer, read]);
    this.#parse();
  }

  #onEnd(): void {
    this.#ended = true;
    if (this.#exchange === null) this.destroy();
    else this.#parse();
  }

  #onClose(): void {
    this.#ended = true;
    const exchange = this.#exchange;
    if (exchange !== null && this.#socketError !== null) {
      exchange.fail(this.#socketError);
    } else if (exchange !== null) {
      this.#parse();
      // Paused with bytes still to deliver: resume() finishes the answer from the buffer.
      if (!exchange.paused && !exchange.done) exchange.fail(otherSideClosed());
    }
    this.#leave();
  }

  /** Parses what is buffered, handing the answer to the handler as it goes, until data runs out or it pauses. */
  #parse(): void {
    if (this.#parsing) return;
    this.#parsing = true;
    const exchange = this.#exchange;
    try {
      while (exchange !== null && this.#exchange === exchange && !exchange.paused && this.#step(exchange));
      if (exchange !== null && this.#exchange === exchange && !exchange.paused && this.#ended) this.#atEnd(exchange);
    } catch (error) {
      if (exchange !== null) exchange.fail(error as Error);
    } finally {
      this.#parsing = false;
    }
  }

  /**
   * The server closed and parsing needs more bytes than it will ever send: the end of a close-delimited body, else a
   * cut answer (a part of a head, a chunk-size line or a trailer left over counts as cut too).
   */
  #atEnd(exchange: Exchange): void {
    if (this.#phase === 'until-close' && (this.#buffer === null || this.#buffer.length === 0)) {
      this.#reusable = false;
      this.#complete(exchange);
    } else {
      exchange.fail(this.#socketError ?? otherSideClosed());
    }
  }

  /** One parsing step; false when it needs more bytes. Throws UpstreamHttpError on a malformed answer. */
  #step(exchange: Exchange): boolean {
    const buffer = this.#buffer;
    if (buffer === null || buffer.length === 0) return false;
    switch (this.#phase) {
      case 'head':
        return this.#head(exchange, buffer);
      case 'length': {
        const n = Math.min(this.#remaining, buffer.length);
        this.#remaining -= n;
        this.#deliver(exchange, buffer, n);
        if (this.#remaining === 0 && this.#exchange === exchange) this.#complete(exchange);
        return true;
      }
      case 'chunk-size': {
        // The usual line, hex digits then CRLF, is read from the bytes; any other (an extension, spaces, a line not
        // all here yet) goes by CHUNK_SIZE.
        let size = 0;
        let eol = 0;
        for (let digit = hexDigit(buffer[0]); digit >= 0 && eol < 12; digit = hexDigit(buffer[++eol])) size = size * 16 + digit;
        if (eol === 0 || buffer[eol] !== 13 || buffer[eol + 1] !== 10) {
          eol = buffer.indexOf('\r\n');
          if (eol < 0) {
            if (buffer.length > MAX_CHUNK_LINE_BYTES) throw malformed('HPE_INVALID_CHUNK_SIZE', 'chunk-size line too long');
            return false;
          }
          const match = CHUNK_SIZE.exec(buffer.toString('latin1', 0, eol));
          if (match === null) throw malformed('HPE_INVALID_CHUNK_SIZE', 'bad chunk size');
          size = parseInt(match[1]!, 16);
        }
        this.#buffer = buffer.subarray(eol + 2);
        if (size === 0) {
          this.#phase = 'trailers';
          this.#trailerBytes = 0;
        } else {
          this.#phase = 'chunk-data';
          this.#remaining = size;
        }
        return true;
      }
      case 'chunk-data': {
        const n = Math.min(this.#remaining, buffer.length);
        this.#remaining -= n;
        if (this.#remaining === 0) this.#phase = 'chunk-crlf';
        this.#deliver(exchange, buffer, n);
        return true;
      }
      case 'chunk-crlf': {
        if (buffer[0] !== 13 || (buffer.length > 1 && buffer[1] !== 10)) throw malformed('HPE_STRICT', 'chunk data not followed by CRLF');
        if (buffer.length < 2) return false;
        this.#buffer = buffer.subarray(2);
        this.#phase = 'chunk-size';
        return true;
      }
      case 'trailers':
        return this.#trailerLine(exchange, buffer);
      case 'until-close':
        this.#deliver(exchange, buffer, buffer.length);
        return true;
    }
  }

  /** The status line and headers, once all of them are here; 1xx answers are skipped. */
  #head(exchange: Exchange, buffer: Buffer): boolean {
    const end = buffer.indexOf('\r\n\r\n', Math.max(0, this.#scanned - 3));
    if (end < 0) {
      if (buffer.length > MAX_HEAD_BYTES) throw malformed('HPE_HEADER_OVERFLOW', `header section over ${MAX_HEAD_BYTES / 1024} KB`);
      this.#scanned = buffer.length;
      return false;
    }
    if (end + 4 > MAX_HEAD_BYTES) throw malformed('HPE_HEADER_OVERFLOW', `header section over ${MAX_HEAD_BYTES / 1024} KB`);
    const lines = buffer.toString('latin1', 0, end).split('\r\n');
    this.#buffer = buffer.subarray(end + 4);
    this.#scanned = 0;
    const status = STATUS_LINE.exec(lines[0]!);
    if (status === null) throw malformed('HPE_INVALID_CONSTANT', 'bad status line');
    const code = Number(status[2]);
    const headers: Headers = {};
    let contentLength: string | null = null;
    let transferEncoding: string | null = null;
    let connection = '';
    let keepAlive: string | null = null;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) throw malformed('HPE_INVALID_HEADER_TOKEN', 'bad header line');
      const name = headerName(line.slice(0, colon));
      const value = line.slice(colon + 1).trim();
      if (BAD_VALUE.test(value)) throw malformed('HPE_INVALID_HEADER_TOKEN', 'control character in a header value');
      if (name === 'content-length') {
        if (contentLength !== null) throw malformed('HPE_UNEXPECTED_CONTENT_LENGTH', 'duplicate Content-Length');
        contentLength = value;
      } else if (name === 'transfer-encoding') {
        transferEncoding = transferEncoding === null ? value : `${transferEncoding}, ${value}`;
      } else if (name === 'connection') {
        connection += `${value.toLowerCase()},`;
      } else if (name === 'keep-alive') {
        keepAlive = value;
      }
      addHeader(headers, name, value);
    }
    // 1xx: an interim answer; the real one follows on the same socket. 101 would switch protocols: not ours.
    if (code < 200) {
      if (code === 101) throw malformed('HPE_UNEXPECTED_UPGRADE', 'unexpected 101 Switching Protocols');
      return true;
    }
    const http10 = status[1] === '0';
    // The usual values first: no Connection header (HTTP/1.1 keeps the socket, 1.0 closes it), and keep-alive alone.
    if (connection === '') this.#reusable = !http10;
    else if (connection === 'keep-alive,') this.#reusable = true;
    else {
      const tokens = connection.split(',').map((t) => t.trim());
      this.#reusable = !tokens.includes('close') && (!http10 || tokens.includes('keep-alive'));
    }
    if (this.#reusable && keepAlive !== null) this.#keepAliveHint(keepAlive);
    const noBody = exchange.isHead || code === 204 || code === 304;
    if (transferEncoding !== null && contentLength !== null) {
      throw malformed('HPE_UNEXPECTED_CONTENT_LENGTH', 'both Content-Length and Transfer-Encoding');
    }
    if (noBody) this.#phase = 'length';
    else if (transferEncoding !== null) {
      const codings = transferEncoding.toLowerCase().split(',');
      if (codings[codings.length - 1]!.trim() === 'chunked') this.#phase = 'chunk-size';
      else {
        // Not chunked last: the body runs until the server closes (RFC 9112, 6.3).
        this.#phase = 'until-close';
        this.#reusable = false;
      }
    } else if (contentLength !== null) {
      if (!/^\d{1,15}$/.test(contentLength)) throw malformed('HPE_INVALID_CONTENT_LENGTH', 'bad Content-Length');
      this.#phase = 'length';
      this.#remaining = Number(contentLength);
    } else {
      this.#phase = 'until-close';
      this.#reusable = false;
    }
    if (noBody) this.#remaining = 0;
    this.#arm(exchange.bodyTimeoutMs, 'UND_ERR_BODY_TIMEOUT', 'no response data');
    exchange.handler.onResponseStart?.(exchange, code, headers, status[3] ?? '');
    if (this.#exchange !== exchange) return false;
    if (this.#phase === 'length' && this.#remaining === 0) this.#complete(exchange);
    return true;
  }

  #trailerLine(exchange: Exchange, buffer: Buffer): boolean {
    const eol = buffer.indexOf('\r\n');
    if (eol < 0) {
      if (this.#trailerBytes + buffer.length > MAX_HEAD_BYTES) throw malformed('HPE_HEADER_OVERFLOW', `trailer section over ${MAX_HEAD_BYTES / 1024} KB`);
      return false;
    }
    this.#buffer = buffer.subarray(eol + 2);
    if (eol === 0) {
      this.#complete(exchange);
      return true;
    }
    this.#trailerBytes += eol + 2;
    if (this.#trailerBytes > MAX_HEAD_BYTES) throw malformed('HPE_HEADER_OVERFLOW', `trailer section over ${MAX_HEAD_BYTES / 1024} KB`);
    const line = buffer.toString('latin1', 0, eol);
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).toLowerCase() : '';
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) throw malformed('HPE_INVALID_HEADER_TOKEN', 'bad trailer line');
    addHeader(this.#trailers, name, value);
    return true;
  }

  /** The first `n` buffered bytes to the handler, as body. */
  #deliver(exchange: Exchange, buffer: Buffer, n: number): void {
    const chunk = n === buffer.length ? buffer : buffer.subarray(0, n);
    this.#buffer = n === buffer.length ? null : buffer.subarray(n);
    this.#restartDeadline();
    if (n > 0) exchange.handler.onResponseData?.(exchange, chunk);
  }

  /** The answer is whole: the socket goes back to the pool (or is closed), then the handler hears the end. */
  #complete(exchange: Exchange): void {
    this.#deadline = 0;
    const trailers = this.#trailers;
    this.#trailers = {};
    exchange.done = true;
    exchange.connection = null;
    this.#exchange = null;
    // Bytes past the answer's end: the server is not speaking HTTP/1.1 as we understood it.
    if (this.#buffer !== null && this.#buffer.length > 0) this.#reusable = false;
    this.#buffer = null;
    if (this.#reusable && !this.#ended) {
      // Idle sockets read: a close, a reset or stray bytes from the server must reach #onEnd / #onData and drop the
      // socket, not wait behind a pause the finished answer's handler left.
      if (this.socket.isPaused()) this.socket.resume();
      this.#pool.release(this);
    } else this.destroy();
    exchange.handler.onResponseEnd?.(exchange, trailers);
  }

  /** `Keep-Alive: timeout=N`: the server closes idle sockets after N s, so this one is not offered past that. */
  #keepAliveHint(value: string): void {
    const match = KEEP_ALIVE_TIMEOUT.exec(value);
    if (match === null) return;
    const ms = Number(match[1]) * 1000 - KEEP_ALIVE_SLACK_MS;
    if (ms <= 0) this.#reusable = false;
    else this.keepAliveHintMs = ms;
  }

  /** Starts the phase's deadline: `ms` of silence from the server fail the exchange (0: no deadline). */
  #arm(ms: number, code: string, what: string): void {
    this.#deadlineMs = ms;
    this.#deadlineCode = code;
    this.#deadlineWhat = what;
    if (ms <= 0) {
      this.#deadline = 0;
      return;
    }
    this.#deadline = performance.now() + ms;
    if (this.#timer !== null && this.#timerAt <= this.#deadline) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#setTimer(ms);
  }

  /** Data came: the deadline counts from now. */
  #restartDeadline(): void {
    if (this.#deadline !== 0) this.#deadline = performance.now() + this.#deadlineMs;
  }

  #setTimer(ms: number): void {
    this.#timerAt = performance.now() + ms;
    // A busy socket is ref'd and holds the process open; the timer alone must not hold an idle one.
    this.#timer = setTimeout(this.#onTimer, ms).unref();
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    if (this.#deadline === 0) return;
    // Node's timers run on the loop's cached clock, so one may fire a little before performance.now() says it is due.
    const rest = this.#deadline - performance.now();
    if (rest > 1) return this.#setTimer(rest);
    this.#deadline = 0;
    const exchange = this.#exchange;
    const ms = this.#deadlineMs;
    const code = this.#deadlineCode;
    const what = this.#deadlineWhat;
    // Paused by the handler (a slow client): the server is not silent, we are not reading. As undici, wait.
    if (exchange !== null && exchange.paused && code === 'UND_ERR_BODY_TIMEOUT') this.#arm(ms, code, what);
    else exchange?.fail(new UpstreamHttpError(code, `${what} within ${ms} ms`));
  };

  #clearConnectTimer(): void {
    if (this.#connectTimer === null) return;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
  }
}

function otherSideClosed(): UpstreamHttpError {
  return new UpstreamHttpError('UND_ERR_SOCKET', 'other side closed');
}

/** A hex digit's value, or -1 (for any other byte, or none). */
function hexDigit(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 48 && byte <= 57) return byte - 48;
  const lower = byte | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** Response header names as sent, checked and lower-cased once: servers send the same few on every answer. */
const HEADER_NAMES = new Map<string, string>();
const HEADER_NAMES_KEPT = 512;
const HEADER_NAME_KEPT_CHARS = 64;

/** A response header's name, lower-cased; throws on one that is not a token. */
function headerName(raw: string): string {
  const known = HEADER_NAMES.get(raw);
  if (known !== undefined) return known;
  if (!TOKEN.test(raw)) throw malformed('HPE_INVALID_HEADER_TOKEN', 'bad header name');
  if (HEADER_NAMES.size >= HEADER_NAMES_KEPT || raw.length > HEADER_NAME_KEPT_CHARS) return raw.toLowerCase();
  // `raw` is a slice of the whole response head, which a kept slice would keep alive: the cache keeps a copy.
  const own = Buffer.from(raw, 'latin1').toString('latin1');
  const name = own.toLowerCase();
  HEADER_NAMES.set(own, name);
  return name;
}

function addHeader(headers: Headers, name: string, value: string): void {
  const existing = Object.hasOwn(headers, name) ? headers[name] : undefined;
  // A header named __proto__ must stay data, not become the object's prototype (defineProperty only then: it is slow).
  if (existing === undefined && name === '__proto__') Object.defineProperty(headers, name, { value, writable: true, enumerable: true, configurable: true });
  else if (existing === undefined) headers[name] = value;
  else if (typeof existing === 'string') headers[name] = [existing, value];
  else existing.push(value);
}

/**
 * A keep-alive socket pool for one http:// origin: at most `connectionsPerOrigin` sockets (further requests wait in
 * order), idle ones reused most-recent-first and closed after `keepAliveMs` (or the server's shorter Keep-Alive).
 */
export class RawHttp1Dispatcher implements UpstreamDispatcher {
  readonly #origin: string;
  readonly #host: string;
  readonly #port: number;
  readonly #hostHeader: string;
  readonly #options: UpstreamOptions;
  readonly #idle: Connection[] = [];
  readonly #waiting: Exchange[] = [];
  /** Sockets open or connecting, busy or idle. */
  readonly #connections = new Set<Connection>();
  #closed = false;
  #sweeper: NodeJS.Timeout | null = null;
  /** close() waiting for the last socket to go. */
  #drained: { promise: Promise<void>; resolve: () => void } | null = null;
  /** For requests whose body is a stream (uploads): undici, made on first use. */
  #streaming: Pool | null = null;

  constructor(origin: string, options: UpstreamOptions) {
    const url = new URL(origin);
    if (url.protocol !== 'http:') throw new Error(`RawHttp1Dispatcher serves http:// origins only, not ${url.protocol}`);
    this.#origin = url.origin;
    // An IPv6 literal comes bracketed in the URL; connect() wants it bare.
    this.#host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.#port = url.port === '' ? 80 : Number(url.port);
    this.#hostHeader = url.host;
    this.#options = options;
  }

  /** Sockets currently open (busy or idle). */
  get openSockets(): number {
    return this.#connections.size;
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const body = options.body;
    const plainBody = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
    if (!plainBody || (options.upgrade !== undefined && options.upgrade !== null && options.upgrade !== false) || options.method === 'CONNECT') {
      return this.#streamingPool().dispatch(options, handler);
    }
    const t = this.#options.timeouts;
    const timeouts = {
      headers: typeof options.headersTimeout === 'number' ? options.headersTimeout : t.firstByte,
      body: typeof options.bodyTimeout === 'number' ? options.bodyTimeout : t.idle,
    };
    let head = '';
    let error: Error | null = null;
    try {
      head = this.#requestHead(options, body ?? null);
    } catch (thrown) {
      error = thrown as Error;
    }
    const exchange = new Exchange(this, handler, head, body === undefined || body === null || body.length === 0 ? null : body, options.method === 'HEAD', timeouts);
    try {
      handler.onRequestStart?.(exchange, {});
    } catch (thrown) {
      error ??= thrown as Error;
    }
    if (exchange.done) return true;
    if (error !== null) exchange.fail(error);
    else if (this.#closed) exchange.fail(new UpstreamHttpError('UND_ERR_CLOSED', 'the upstream pool is closed'));
    else this.#assign(exchange);
    return true;
  }

  /** The request line and headers; throws (code UND_ERR_INVALID_ARG) on anything that could split the request. */
  #requestHead(options: Dispatcher.DispatchOptions, body: string | Uint8Array | null): string {
    const method = options.method;
    if (!TOKEN.test(method)) throw invalid('invalid request method');
    if (!PATH.test(options.path)) throw invalid('invalid request path');
    let lines = '';
    let host: string | null = null;
    let contentLength: string | null = null;
    const add = (name: string, value: string): void => {
      if (!TOKEN.test(name)) throw invalid(`invalid header name ${JSON.stringify(name)}`);
      if (BAD_VALUE.test(value)) throw invalid(`invalid value for header ${name}`);
      const lower = name.toLowerCase();
      if (lower === 'host') host = value;
      else if (lower === 'content-length') contentLength = value;
      else if (lower === 'transfer-encoding' || lower === 'connection' || lower === 'keep-alive' || lower === 'upgrade') {
        throw invalid(`header ${lower} is set by the upstream client`);
      } else lines += `${name}: ${value}\r\n`;
    };
    const headers = options.headers;
    if (Array.isArray(headers)) {
      if (headers.length % 2 !== 0) throw invalid('headers array must hold name/value pairs');
      for (let i = 0; i < headers.length; i += 2) add(String(headers[i]), String(headers[i + 1]));
    } else if (headers !== undefined && headers !== null) {
      const entries: Iterable<[string, unknown]> = Symbol.iterator in headers ? (headers as Iterable<[string, unknown]>) : Object.entries(headers);
      for (const [name, value] of entries) {
        if (value === undefined || value === null) continue;
        if (Array.isArray(value)) for (const v of value) add(name, String(v));
        else add(name, String(value));
      }
    }
    const length = body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    if (contentLength !== null && contentLength !== String(length)) {
      throw new UpstreamHttpError('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'request body length does not match its Content-Length');
    }
    if (length > 0 || (method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS' && method !== 'DELETE')) lines += `content-length: ${length}\r\n`;
    return `${method} ${options.path} HTTP/1.1\r\nhost: ${host ?? this.#hostHeader}\r\nconnection: keep-alive\r\n${lines}\r\n`;
  }

  #assign(exchange: Exchange): void {
    const now = performance.now();
    while (this.#idle.length > 0) {
      const connection = this.#idle.pop()!;
      if (connection.expiresAt <= now) {
        connection.destroy();
        continue;
      }
      connection.send(exchange);
      return;
    }
    const limit = this.#options.connectionsPerOrigin;
    if (limit !== null && this.#connections.size >= limit) {
      this.#waiting.push(exchange);
      return;
    }
    const connection = new Connection(this, this.#host, this.#port, this.#options.timeouts.connect);
    this.#connections.add(connection);
    connection.send(exchange);
  }

  /** A socket whose answer ended cleanly: the next waiting request, or the idle stack. */
  release(connection: Connection): void {
    const next = this.#waiting.shift();
    if (next !== undefined) {
      connection.send(next);
      return;
    }
    if (this.#closed) {
      connection.destroy();
      return;
    }
    const hint = connection.keepAliveHintMs;
    const ttl = hint === null ? this.#options.keepAliveMs : Math.min(hint, this.#options.keepAliveMs);
    connection.expiresAt = performance.now() + ttl;
    connection.socket.unref();
    this.#idle.push(connection);
    this.#sweeper ??= setInterval(() => this.#sweep(), Math.max(100, Math.min(this.#options.keepAliveMs, 1000))).unref();
  }

  /** A socket closed or destroyed: out of the pool; a waiting request may now open one. */
  forget(connection: Connection): void {
    this.#connections.delete(connection);
    const i = this.#idle.indexOf(connection);
    if (i >= 0) this.#idle.splice(i, 1);
    const next = this.#waiting.shift();
    if (next !== undefined) this.#assign(next);
    if (this.#connections.size === 0) {
      if (this.#sweeper !== null) clearInterval(this.#sweeper);
      this.#sweeper = null;
      this.#drained?.resolve();
    }
  }

  /** A waiting request that failed or was aborted before it got a socket. */
  unqueue(exchange: Exchange): void {
    const i = this.#waiting.indexOf(exchange);
    if (i >= 0) this.#waiting.splice(i, 1);
  }

  /** Closes idle sockets past their keep-alive time. */
  #sweep(): void {
    const now = performance.now();
    for (const connection of [...this.#idle]) if (connection.expiresAt <= now) connection.destroy();
  }

  #streamingPool(): Pool {
    this.#streaming ??= new Pool(this.#origin, {
      connections: this.#options.connectionsPerOrigin,
      connectTimeout: this.#options.timeouts.connect,
      keepAliveTimeout: this.#options.keepAliveMs,
      headersTimeout: this.#options.timeouts.firstByte,
      bodyTimeout: this.#options.timeouts.idle,
      pipelining: 1,
    });
    return this.#streaming;
  }

  /** Stops taking requests; resolves once requests in flight have ended and every socket is closed. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const connection of [...this.#idle]) connection.destroy();
    const streaming = this.#streaming?.close();
    if (this.#connections.size > 0) {
      this.#drained ??= Promise.withResolvers<void>();
      await this.#drained.promise;
    }
    await streaming;
  }

  /** Ends every request in flight with `error` and closes every socket now. */
  async destroy(error: Error = new UpstreamHttpError('UND_ERR_DESTROYED', 'the upstream pool was destroyed')): Promise<void> {
    this.#closed = true;
    for (const exchange of this.#waiting.splice(0)) exchange.fail(error);
    for (const connection of [...this.#connections]) connection.abandon(error);
    await this.#streaming?.destroy(error);
  }
}

function invalid(message: string): UpstreamHttpError {
  return new UpstreamHttpError('UND_ERR_INVALID_ARG', message);
}
