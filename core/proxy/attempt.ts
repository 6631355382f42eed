// One attempt: upstream bytes to the client as they arrive, with backpressure and timeouts.
//
// An attempt is undici's dispatch handler for one upstream request. Until the first body byte is written, a
// failure is handed to the attempt's owner, the retry loop (which may retry elsewhere); after it, the response
// belongs to the client and is finished or cut, never retried. Without a stream tap, the work per chunk is
// `res.write(chunk)`.


import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { Deployment } from '../config/models.ts';
import { SluiceError, toSluiceError } from '../errors.ts';
import { HOP_BY_HOP, headerList, isChunkedOnly } from '../http/headers.ts';
import { endStarted, isReply, writeError, writeHead, writeReply, type Reply } from '../http/reply.ts';
import type { ResponseBody, UpstreamResponseHead } from '../plugin/api.ts';
import type { Chain } from '../plugin/chain.ts';
import type { RequestContext } from '../plugin/context.ts';
import { localizeFor, type ErrorLocalizer, type LocalizedMessage } from '../plugin/localize.ts';
import type { BodyUsageReader, WireFormat } from '../providers/wire-format.ts';
import { AnswerWrites } from './answer-writes.ts';
import { decodeErrorBody, ERROR_BODY_LIMIT, maskSecrets } from './error-body.ts';
import { mapUpstreamError } from './pools.ts';
import { MAX_EVENT_BYTES, SseTap } from './stream-tap.ts';

/** Largest success body held for `onResponseBody` hooks; a larger one is forwarded as it comes, unseen. */
const WHOLE_BODY_LIMIT = 4 * 1024 * 1024;

type Headers = Record<string, string | string[] | undefined>;

const NOT_PARSED = Symbol('not parsed');

/** An upstream error response kept while the owner decides; `failure` is set if the upstream broke meanwhile. */
interface HeldError {
  readonly status: number;
  readonly headers: Headers;
  readonly chunks: Buffer[];
  ended: boolean;
  failure: SluiceError | null;
}

/**
 * A held response body for `onResponseBody`, its JSON parsed on first use. A class rather than an object literal
 * with a getter: each such literal gets its own hidden class, allocated in old space, which made every scavenge slow.
 */
class HeldBody implements ResponseBody {
  readonly status: number;
  readonly raw: Buffer;
  #json: unknown = NOT_PARSED;

  constructor(status: number, raw: Buffer) {
    this.status = status;
    this.raw = raw;
  }

  get json(): unknown {
    if (this.#json === NOT_PARSED) {
      try {
        this.#json = JSON.parse(this.raw.toString('utf8'));
      } catch {
        this.#json = undefined;
      }
    }
    return this.#json;
  }
}

/** How a streamed answer is framed, by its content type: SSE, NDJSON (Ollama's API), or null for a whole body. */
function streamFramingOf(headers: Headers): 'sse' | 'ndjson' | null {
  const type = headers['content-type'];
  if (typeof type !== 'string') return null;
  if (type.startsWith('text/event-stream')) return 'sse';
  return type.startsWith('application/x-ndjson') ? 'ndjson' : null;
}

/** node:http's ServerResponse class, read as listener.ts reads createServer (an ES import would load Node's undici). */
const { ServerResponse: Http1Response } = process.getBuiltinModule('node:http');

const CR = 0x0d;
const LF = 0x0a;

/**
 * One chunk of HTTP/1.1's chunked encoding in one buffer: the size in hex, CRLF, the bytes, CRLF. The bytes are
 * copied, not changed: a stream chunk is a few hundred bytes, and one buffer is one write.
 */
function chunkFrame(bytes: Buffer): Buffer {
  const size = bytes.length.toString(16);
  const frame = Buffer.allocUnsafe(size.length + bytes.length + 4);
  let at = frame.write(size, 0, 'latin1');
  frame[at++] = CR;
  frame[at++] = LF;
  at += bytes.copy(frame, at);
  frame[at++] = CR;
  frame[at] = LF;
  return frame;
}

/**
 * `res.write(bytes)`, on the wire before it returns. Uncorked, node:http corks the socket for each write and uncorks
 * it a tick later, which costs a tick per stream chunk and holds the chunk back until then. HTTP/2 streams (whose
 * `socket` may not be corked) write as they are.
 */
function writeNow(res: ServerResponse, bytes: Buffer): boolean {
  const socket = res.socket;
  if (!(res instanceof Http1Response) || socket === null || socket.writableCorked > 0) return res.write(bytes);
  socket.cork();
  try {
    return res.write(bytes);
  } finally {
    socket.uncork();
  }
}

/** Bodies up to this size go out with their head as one string (see endWithBody); larger ones as they are. */
const ONE_WRITE_BODY_BYTES = 16 * 1024;

/**
 * Ends a response with its whole body. node:http sends a Buffer body and the head it has not sent yet as two chunks
 * of a corked `writev`; a latin1 string body is appended to the head and sent in one plain write. latin1 maps each
 * byte to one character and back, so the bytes on the wire are the same.
 */
function endWithBody(res: ServerResponse, body: Buffer): void {
  if (res instanceof Http1Response && body.length <= ONE_WRITE_BODY_BYTES) res.end(body.toString('latin1'), 'latin1');
  else res.end(body);
}

/** Whole answers of one pass of the loop go out together at its end (see answer-writes.ts). */
const ANSWER_WRITES = new AnswerWrites(endWithBody);

/** What one attempt is for, fixed when it is created. */
export interface AttemptSetup {
  readonly ctx: RequestContext;
  readonly res: ServerResponse;
  readonly deployment: Deployment;
  /** The wire family spoken: where usage is in its answers. */
  readonly wire: WireFormat;
  readonly chain: Chain;
  /** Puts the errors this attempt writes in the caller's language. */
  readonly localizer: ErrorLocalizer;
  /** Deadlines in ms, 0 = none. */
  readonly firstByteMs: number;
  readonly totalMs: number;
  /** Read a 400's body before reporting it: it may name a content-policy refusal or a context-window overflow. */
  readonly readsBadRequestBody: boolean;
  /** The gateway added `stream_options.include_usage` for its own accounting: that usage event is not forwarded. */
  readonly usageInjected: boolean;
}

/** A failure before the client got a byte: an error status from the backend, or a transport error or timeout. */
export type AttemptFailure =
  | { readonly kind: 'status'; readonly status: number; readonly headers: Headers; readonly body: Buffer | null }
  | { readonly kind: 'transport'; readonly error: SluiceError };

/**
 * What an attempt reports to the retry loop. The loop may decide on a failure later (a fallback group going
 * through the admit phase): it then returns a promise, and the attempt holds the error (pausing the upstream) until
 * it settles.
 */
export interface AttemptOwner {
  /** True (or a promise of it): the owner retries or falls back, and this attempt goes quiet. */
  failed(attempt: UpstreamAttempt, failure: AttemptFailure): boolean | Promise<boolean>;
  /** Headers every client response gets (request id, routing details). */
  clientHeaders(attempt: UpstreamAttempt): Record<string, string>;
  /** The attempt is over; called exactly once, unless a retry took it over. */
  ended(attempt: UpstreamAttempt, outcome: 'ok' | 'error', error: SluiceError | null): void;
}

export class UpstreamAttempt implements Dispatcher.DispatchHandler {
  readonly deployment: Deployment;
  /** `performance.now()` at dispatch, first body byte from upstream, and end. */
  readonly dispatchedAt: number;
  firstDataAt = 0;
  readonly #setup: AttemptSetup;
  readonly #ctx: RequestContext;
  readonly #res: ServerResponse;
  readonly #chain: Chain;
  readonly #owner: AttemptOwner;
  #controller: Dispatcher.DispatchController | null = null;
  #tap: SseTap | null = null;
  #eventStream = false;
  /** Set once this attempt has finished or handed over to a retry; later callbacks are ignored. */
  #done = false;
  #abortReason: Error | null = null;
  /** A success response's status and headers, held until its first body byte so a failure before it can retry. */
  #held: { status: number; headers: Headers } | null = null;
  /** A success body held whole for the `onResponseBody` hooks (output guards). */
  #wholeBody: { status: number; headers: Headers; chunks: Buffer[]; size: number } | null = null;
  /** An error response's body being read for the retry decision (`decided`: already passed on), or to mask secrets. */
  #errorBody: { status: number; headers: Headers; chunks: Buffer[]; size: number; decided: boolean } | null = null;
  /** An error response held, upstream paused, while the owner decides asynchronously whether to retry elsewhere. */
  #deciding: HeldError | null = null;
  /**
   * One timer serves both deadlines (`performance.now()` ms, 0 = none): it is set for the nearer. Response headers
   * only clear the first-byte deadline, and a timer that fires with only the total one left is set again for the
   * rest, so the usual request costs one timer, not two.
   */
  #timer: NodeJS.Timeout | null = null;
  #firstByteDeadline = 0;
  #totalDeadline = 0;
  #waitingForDrain = false;
  /**
   * The client's socket, once the head of a chunked HTTP/1.1 answer is on it: later stream chunks are framed here
   * and written to it directly (see #writeChunk).
   */
  #chunkSocket: Socket | null = null;
  /** A whole answer handed to ANSWER_WRITES: `queued` until it is out, then `written`. */
  #answer: 'none' | 'queued' | 'written' = 'none';
  /** The upstream finished while the answer was queued: the attempt ends once it is written. */
  #endWhenWritten = false;
  /** The end of a JSON body, kept to read its `usage`, when a plugin wants usage. */
  #usageTail: BodyUsageReader | null = null;
  readonly #resume = (): void => {
    this.#waitingForDrain = false;
    this.#controller?.resume();
  };

  /**
   * The first-byte deadline is kept here rather than left to undici's `headersTimeout`, whose coarse timers fire
   * up to a second late.
   */
  constructor(owner: AttemptOwner, setup: AttemptSetup) {
    this.#owner = owner;
    this.#setup = setup;
    this.#ctx = setup.ctx;
    this.#res = setup.res;
    this.#chain = setup.chain;
    this.deployment = setup.deployment;
    const now = (this.dispatchedAt = performance.now());
    const { firstByteMs, totalMs } = setup;
    if (totalMs > 0) this.#totalDeadline = now + totalMs;
    if (firstByteMs > 0 && (totalMs === 0 || firstByteMs < totalMs)) this.#firstByteDeadline = now + firstByteMs;
    const nearer = this.#firstByteDeadline || this.#totalDeadline;
    if (nearer > 0) this.#timer = setTimeout(this.#onTimer, nearer - now);
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    if (this.#done) return;
    if (this.#firstByteDeadline > 0) return this.#onTimeout(`sent no response within ${this.#setup.firstByteMs / 1000} s`);
    if (this.#totalDeadline === 0) return;
    // The timer was set for the first byte, which came: the rest of the total deadline. Node's timers run on
    // the loop's cached clock, so one may fire a little before performance.now() says it is due.
    const rest = this.#totalDeadline - performance.now();
    if (rest > 1) this.#timer = setTimeout(this.#onTimer, rest);
    else this.#onTimeout(`did not finish within ${this.#setup.totalMs / 1000} s`);
  };

  /** True once bytes of this attempt reached the client: from then on it can only finish or be cut. */
  get committed(): boolean {
    return this.#res.headersSent;
  }

  /** Stops the upstream request (the client left). Reports nothing: the owner already knows. */
  abort(reason: Error): void {
    if (this.#done) return;
    this.#settle();
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  /**
   * Ends this attempt with `error` and stops the upstream request (shutdown): before the first byte the client gets
   * the error, a started event stream gets it as its final event, as after an upstream failure.
   */
  cut(error: SluiceError): void {
    if (this.#done) return;
    this.#fail(error, true);
    // After #fail: undici may report the abort synchronously, and this attempt must already be over by then.
    this.#abortReason = error;
    this.#controller?.abort(error);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason !== null) controller.abort(this.#abortReason);
  }

  // undici's callbacks: a throw in one would reach the event loop and end the process, so none may escape.
  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Headers): void {
    try {
      this.#responseStart(controller, status, headers);
    } catch (error) {
      this.#crashed(error);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    try {
      this.#responseData(controller, chunk);
    } catch (error) {
      this.#crashed(error);
    }
  }

  onResponseEnd(controller: Dispatcher.DispatchController): void {
    try {
      this.#responseEnd(controller);
    } catch (error) {
      this.#crashed(error);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#done) return;
    try {
      this.#fail(mapUpstreamError(error, this.deployment));
    } catch (thrown) {
      this.#crashed(thrown);
    }
  }

  #responseStart(controller: Dispatcher.DispatchController, status: number, headers: Headers): void {
    this.#controller = controller;
    if (this.#done) return;
    this.#firstByteDeadline = 0;
    this.#ctx.upstreamStatus = status;
    const codings = headers['transfer-encoding'];
    if (codings !== undefined && !isChunkedOnly(codings)) {
      // Like nginx: a body in a transfer coding other than chunked (gzip, chunked) is not decoded but refused.
      const error = new SluiceError(
        'SLUICE_UPSTREAM_BAD_RESPONSE',
        `Upstream for model group "${this.deployment.group}" (deployment ${this.deployment.id}) sent an unsupported Transfer-Encoding.`,
        { details: { model: this.deployment.group, deployment: this.deployment.id } },
      );
      this.#fail(error);
      controller.abort(error);
      return;
    }
    if (status >= 400) {
      if (status === 400 && this.#setup.readsBadRequestBody) {
        this.#errorBody = { status, headers, chunks: [], size: 0, decided: false };
        return;
      }
      const decision = this.#owner.failed(this, { kind: 'status', status, headers, body: null });
      if (decision === true) return this.#handOver(controller);
      if (decision !== false) return this.#awaitDecision(controller, decision, status, headers, null, false);
      if (this.deployment.secrets.length > 0) {
        this.#errorBody = { status, headers, chunks: [], size: 0, decided: true };
        return;
      }
      this.#writeHead(status, headers);
      return;
    }
    if (this.#chain.hooks.onResponseBody !== null && streamFramingOf(headers) === null) {
      this.#wholeBody = { status, headers, chunks: [], size: 0 };
      return;
    }
    this.#held = { status, headers };
  }

  #responseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#done) return;
    if (this.firstDataAt === 0) this.firstDataAt = performance.now();
    if (this.#deciding !== null) {
      this.#deciding.chunks.push(chunk);
      return;
    }
    const pending = this.#errorBody;
    if (pending !== null) {
      pending.chunks.push(chunk);
      pending.size += chunk.length;
      if (pending.size >= ERROR_BODY_LIMIT) this.#decideOnErrorBody(controller, false);
      return;
    }
    const whole = this.#wholeBody;
    if (whole !== null) {
      whole.chunks.push(chunk);
      whole.size += chunk.length;
      if (whole.size > WHOLE_BODY_LIMIT) {
        // Too big to hold: forward what came so far and stream the rest, as if no plugin had asked.
        this.#wholeBody = null;
        if (!this.#writeHead(whole.status, whole.headers)) return;
        for (const held of whole.chunks) {
          this.#res.write(held);
          this.#usageTail?.push(held);
        }
      }
      return;
    }
    if (this.#held !== null) {
      const { status, headers } = this.#held;
      this.#held = null;
      if (!this.#writeHead(status, headers)) return;
      if (this.#tap === null && Number(headers['content-length']) === chunk.length) {
        // The whole body in one piece (the usual JSON answer): it ends the response in one write, which spares
        // node:http a cork, an uncork and a tick, at the end of this pass of the loop with the pass's other
        // answers (answer-writes.ts).
        this.#usageTail?.push(chunk);
        this.#answer = 'queued';
        ANSWER_WRITES.end(this.#res, chunk, this.#answerWritten);
        return;
      }
    }
    let bytes: Buffer | null = chunk;
    const tap = this.#tap;
    if (tap !== null) {
      bytes = tap.push(chunk);
      if (tap.stopped !== null) {
        if (bytes !== null) this.#res.write(bytes);
        const stop = tap.stopped;
        endStarted(this.#res, true, this.#setup.wire.streamStopTail(stop, this.#ctx, tap.state));
        this.#end('error', stop.error);
        // After #end: undici may report the abort synchronously, and this attempt must already be over by then.
        controller.abort(stop.error);
        return;
      }
      if (tap.oversized) {
        if (bytes !== null) this.#res.write(bytes);
        const error = new SluiceError(
          'SLUICE_UPSTREAM_BAD_RESPONSE',
          `Upstream for model group "${this.deployment.group}" (deployment ${this.deployment.id}) sent a stream event over ${MAX_EVENT_BYTES} bytes.`,
          { details: { model: this.deployment.group, deployment: this.deployment.id } },
        );
        this.#fail(error);
        controller.abort(error);
        return;
      }
      if (bytes === null) return;
    }
    this.#usageTail?.push(bytes);
    // A slow client pauses the upstream read instead of letting chunks pile up in memory.
    if (!this.#writeChunk(bytes) && !this.#waitingForDrain) {
      this.#waitingForDrain = true;
      controller.pause();
      (this.#chunkSocket ?? this.#res).once('drain', this.#resume);
    }
  }

  /**
   * A body chunk to the client, on the wire before this returns; false when the client's side is full. The first one
   * goes through `res.write`, which sends the head with it. After it, a chunked HTTP/1.1 answer's chunks are framed
   * here and written to the socket: one write each, where `res.write` makes three buffered writes and a `writev`
   * (and a tick, uncorked). The framing is the one node:http writes, and `res.end()` still writes the last chunk.
   * HTTP/2, HTTP/1.0 clients (no chunked encoding) and HEAD requests stay with `res.write`.
   */
  #writeChunk(bytes: Buffer): boolean {
    const socket = this.#chunkSocket;
    if (socket !== null) {
      // An empty frame would end the body; a closed socket is the client gone, which its 'close' reports.
      if (bytes.length === 0 || socket.destroyed) return true;
      return socket.write(chunkFrame(bytes));
    }
    const res = this.#res;
    const written = writeNow(res, bytes);
    if (res instanceof Http1Response && res.chunkedEncoding && res.socket !== null && res.req.method !== 'HEAD') this.#chunkSocket = res.socket;
    return written;
  }

  #responseEnd(controller: Dispatcher.DispatchController): void {
    if (this.#done) return;
    if (this.#deciding !== null) {
      this.#deciding.ended = true;
      return;
    }
    if (this.#errorBody !== null) {
      this.#decideOnErrorBody(controller, true);
      if (this.#done || this.#deciding !== null) return;
    }
    if (this.#wholeBody !== null) {
      this.#deliverWholeBody();
      return;
    }
    if (this.#held !== null) {
      // A success with an empty body: nothing could fail after this, so it is delivered as is.
      const { status, headers } = this.#held;
      this.#held = null;
      if (!this.#writeHead(status, headers)) return;
    }
    const rest = this.#tap?.flush();
    if (rest != null) this.#res.write(rest);
    if (this.#answer === 'none') this.#res.end();
    if (this.#usageTail !== null) this.#ctx.usage = this.#usageTail.read();
    // The log phase and the figures (duration, outcome) follow the bytes, as for any other answer.
    if (this.#answer === 'queued') this.#endWhenWritten = true;
    else this.#end('ok', null);
  }

  /** ANSWER_WRITES wrote this attempt's answer (or found its client gone: then the attempt has ended already). */
  readonly #answerWritten = (): void => {
    this.#answer = 'written';
    if (!this.#endWhenWritten) return;
    this.#endWhenWritten = false;
    try {
      this.#end('ok', null);
    } catch (error) {
      this.#crashed(error);
    }
  };

  /** The held body through the `onResponseBody` hooks, then to the client: as sent, or a hook's replacement. */
  #deliverWholeBody(): void {
    const whole = this.#wholeBody!;
    this.#wholeBody = null;
    const raw = Buffer.concat(whole.chunks, whole.size);
    const body = new HeldBody(whole.status, raw);
    const send = (reply: Reply | undefined): void => {
      if (this.#done) return;
      if (reply === undefined) {
        if (!this.#writeHead(whole.status, whole.headers)) return;
        this.#res.end(raw);
      } else {
        writeReply(this.#res, this.#ctx, reply, { ...this.#owner.clientHeaders(this), ...this.#ctx.responseHeaders });
      }
      // The backend did the work (and counts the tokens) whether or not its answer was replaced.
      if (this.#chain.wantsUsage) this.#ctx.usage = this.#setup.wire.usageOfBody(body.json);
      this.#end('ok', null);
    };
    let result: Reply | undefined | Promise<Reply | undefined>;
    try {
      result = this.#chain.runBody(this.#ctx, body);
    } catch (error) {
      return this.#fail(error as SluiceError, true);
    }
    if (result === undefined || isReply(result)) return send(result);
    result.then(send, (error: unknown) => this.#fail(error as SluiceError, true)).catch((error: unknown) => this.#crashed(error));
  }

  /** `complete`: the whole body came; otherwise ERROR_BODY_LIMIT bytes of it did. */
  #decideOnErrorBody(controller: Dispatcher.DispatchController, complete: boolean): void {
    const pending = this.#errorBody!;
    this.#errorBody = null;
    const body = Buffer.concat(pending.chunks, pending.size);
    if (!pending.decided) {
      const decision = this.#owner.failed(this, { kind: 'status', status: pending.status, headers: pending.headers, body });
      if (decision === true) return this.#handOver(controller);
      if (decision !== false) return this.#awaitDecision(controller, decision, pending.status, pending.headers, body, complete);
    }
    if (this.deployment.secrets.length === 0) {
      if (this.#writeHead(pending.status, pending.headers)) this.#res.write(body);
      return;
    }
    // A backend may echo the request's credentials in its error: they are masked, so the body is sent whole
    // (cut at ERROR_BODY_LIMIT) with its new length.
    const encoding = pending.headers['content-encoding'];
    const masked = maskSecrets(decodeErrorBody(body, encoding), this.deployment.secrets);
    const headers: Headers = { ...pending.headers, 'content-length': String(masked.length) };
    delete headers['content-encoding'];
    if (!this.#writeHead(pending.status, headers)) return;
    this.#res.end(masked);
    this.#end('ok', null);
    if (!complete) controller.abort(new Error('error body over the limit'));
  }

  /** Holds the error response (pausing the upstream) until the owner decides; then hands over or passes it on. */
  #awaitDecision(controller: Dispatcher.DispatchController, decision: Promise<boolean>, status: number, headers: Headers, body: Buffer | null, ended: boolean): void {
    const deciding: HeldError = { status, headers, chunks: body === null ? [] : [body], ended, failure: null };
    this.#deciding = deciding;
    if (!ended) controller.pause();
    const decided = (retried: boolean): void => {
      if (this.#deciding !== deciding) return;
      this.#deciding = null;
      if (this.#done) return; // the client left meanwhile
      if (retried) return this.#handOver(controller);
      if (deciding.failure !== null) return this.#fail(deciding.failure, true);
      if (this.deployment.secrets.length > 0) {
        // Passed on after all: read the rest of it to mask the deployment's secrets first.
        this.#errorBody = { status, headers, chunks: deciding.chunks, size: deciding.chunks.reduce((n, c) => n + c.length, 0), decided: true };
        if (deciding.ended) return this.#decideOnErrorBody(controller, true);
        return controller.resume();
      }
      if (!this.#writeHead(status, headers)) return;
      for (const chunk of deciding.chunks) this.#res.write(chunk);
      if (!deciding.ended) return controller.resume();
      this.#res.end();
      this.#end('ok', null);
    };
    decision.then(decided, () => decided(false));
  }

  /** Writes the client's status line and headers. False if a plugin failed the request instead. */
  #writeHead(status: number, headers: Headers): boolean {
    const ctx = this.#ctx;
    const framing = streamFramingOf(headers);
    this.#eventStream = framing !== null;
    const head: UpstreamResponseHead = { status, headers, isEventStream: this.#eventStream };
    try {
      this.#chain.runHeaders(ctx, head);
    } catch (error) {
      this.#controller?.abort(error as Error);
      this.#fail(error as SluiceError, true);
      return false;
    }
    const out: Record<string, string | string[]> = this.#owner.clientHeaders(this);
    const connection = headers['connection'];
    // Headers the backend's Connection header names belong to that hop too. "keep-alive" names one dropped anyway,
    // and "close" is read as the option, not as a header named close.
    const listed = connection === undefined || connection === 'keep-alive' || connection === 'close' ? null : headerList(connection);
    for (const name in headers) {
      const value = headers[name];
      if (value !== undefined && !HOP_BY_HOP.has(name) && (listed === null || !listed.includes(name))) out[name] = value;
    }
    Object.assign(out, ctx.responseHeaders);
    const chain = this.#chain;
    if (this.#eventStream) {
      out['cache-control'] = 'no-cache';
      out['x-accel-buffering'] = 'no';
      // An API whose closing events continue the stream (Responses' sequence numbers, Messages' open block) has
      // the tap follow it, so an error or a stop ends it as that API's clients expect.
      const state = this.#setup.wire.streamState?.() ?? null;
      if (chain.eventHooks !== null || chain.wantsUsage || state !== null) {
        const usage = chain.wantsUsage && status < 400 ? { wire: this.#setup.wire, read: true, dropInjected: this.#setup.usageInjected } : null;
        this.#tap = new SseTap(ctx, chain.eventHooks ?? [], usage, MAX_EVENT_BYTES, framing!, state);
        // A plugin may end the stream early, so the upstream's length would no longer hold.
        delete out['content-length'];
      }
    } else if (chain.wantsUsage && status < 400) {
      this.#usageTail = this.#setup.wire.bodyUsageReader();
    }
    return writeHead(this.#res, ctx, status, out);
  }

  #onTimeout(what: string): void {
    if (this.#done) return;
    const error = new SluiceError('SLUICE_UPSTREAM_TIMEOUT', `Upstream for model group "${this.deployment.group}" (deployment ${this.deployment.id}) ${what}.`, {
      details: { model: this.deployment.group, deployment: this.deployment.id },
    });
    try {
      this.#controller?.abort(error);
      this.#fail(error);
    } catch (thrown) {
      this.#crashed(thrown);
    }
  }

  /**
   * Something threw in an undici callback or a timer (a bug, a plugin): this request ends with the error, and the
   * process and every other stream go on.
   */
  #crashed(thrown: unknown): void {
    const error = toSluiceError(thrown);
    try {
      this.#fail(error, true);
      this.#controller?.abort(error);
    } catch {
      // Not even the error could be sent: drop this client rather than the process.
      this.#settle();
      this.#res.destroy();
    }
  }

  /**
   * Before the client got a byte, the owner may retry; otherwise the error is sent. After, an event stream gets
   * a final error event and any other body is cut short.
   */
  #fail(error: SluiceError, noRetry = false): void {
    if (this.#done) return;
    if (this.#deciding !== null) {
      // The upstream broke while the owner decides: if it does not retry, this is what the client gets.
      this.#deciding.failure ??= error;
      return;
    }
    if (!this.#res.headersSent && !noRetry) {
      const decision = this.#owner.failed(this, { kind: 'transport', error });
      if (decision !== false) {
        // Nothing more comes from this attempt: go quiet, and report the error only if the owner does not retry.
        this.#settle();
        if (decision !== true) decision.then((retried) => retried || this.#report(error), () => this.#report(error));
        return;
      }
    }
    this.#settle();
    this.#report(error);
  }

  /** Sends `error` (or ends a started response with it) and tells the owner this attempt is over. */
  #report(error: SluiceError): void {
    if (!this.#res.headersSent) {
      writeError(this.#res, this.#ctx, error, { ...this.#owner.clientHeaders(this), ...this.#ctx.responseHeaders }, this.#localize(error), this.#setup.wire.errorBody);
    } else {
      endStarted(this.#res, this.#eventStream, this.#setup.wire.streamErrorTail(error, this.#localize(error).message, this.#tap?.state ?? null));
    }
    this.#owner.ended(this, 'error', error);
  }

  #localize(error: SluiceError): LocalizedMessage {
    return localizeFor(this.#setup.localizer, error, this.#ctx);
  }

  #handOver(controller: Dispatcher.DispatchController): void {
    this.#settle();
    controller.abort(new Error('retrying on another deployment'));
  }

  #end(outcome: 'ok' | 'error', error: SluiceError | null): void {
    if (this.#done) return;
    this.#settle();
    this.#owner.ended(this, outcome, error);
  }

  #settle(): void {
    this.#done = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    // The socket outlives this answer (keep-alive): no listener of this attempt stays on it.
    if (this.#waitingForDrain) this.#chunkSocket?.removeListener('drain', this.#resume);
  }
}
