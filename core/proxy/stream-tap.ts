// The stream tap: splits an upstream event stream into events for the plugins that asked, never changing a byte.
//
// Only built when some plugin defines `onResponseEvent`. Each event is split out once and shared by every plugin;
// its text and JSON are decoded on first access and cached. To guarantee that a stopped stream leaks nothing,
// a tapped stream forwards whole events: the bytes of an event that is still incomplete at the end of a chunk
// are held until its terminating blank line arrives (the bytes themselves are forwarded unchanged). The search for
// that blank line reads each byte once, however many chunks an event spans, and an event is held up to
// MAX_EVENT_BYTES.

import type { RequestContext } from '../plugin/context.ts';
import { SseEvent, type EventHook, type StreamStop } from '../plugin/stream-event.ts';
import type { StreamState, WireFormat } from '../providers/wire-format.ts';

const LF = 0x0a;
const CR = 0x0d;

/**
 * Per-response tap. `push(chunk)` returns the bytes that may be forwarded now (a view of the chunk when no
 * event straddles a chunk boundary), or null. After a hook stops the stream, `stopped` is set and the returned
 * bytes end just before the event that triggered it.
 */
export interface UsageReading {
  /** The wire family of the stream, which says where its usage is. */
  readonly wire: WireFormat;
  /** Fill `ctx.usage` from the stream's usage event. */
  readonly read: boolean;
  /** The gateway asked for the usage event on the client's behalf: do not forward it. */
  readonly dropInjected: boolean;
}

/**
 * Largest incomplete event a tapped stream holds (1 MB). A backend that sends more without a blank line gets its
 * stream ended with an error event: holding without bound would let one stream take the gateway's memory.
 */
export const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Where the bytes held so far stand in a possible event terminator, so one split across chunks is still seen:
 * mid-line, after a line end (LF or CRLF), after a CR (a line end, or the start of CRLF), after a line end and a CR.
 */
const MID_LINE = 0;
const AFTER_LF = 1;
const AFTER_CR = 2;
const AFTER_LF_CR = 3;
/** `step` result: the byte just stepped over ends the event. */
const ENDS = -1;

/** One byte of the terminator state machine: `\n\n`, `\r\n\r\n` (and mixes of the two) and `\r\r` end an event. */
function step(state: number, byte: number | undefined): number {
  if (byte === LF) return state === AFTER_LF || state === AFTER_LF_CR ? ENDS : AFTER_LF;
  if (byte === CR) return state === AFTER_CR || state === AFTER_LF_CR ? ENDS : state === AFTER_LF ? AFTER_LF_CR : AFTER_CR;
  return MID_LINE;
}

export class SseTap {
  stopped: StreamStop | null = null;
  /** Set when an event grew past `maxEventBytes` without its blank line; nothing more is forwarded. */
  oversized = false;
  /** Bytes examined while looking for event ends, over the tap's life: linear in the stream's size. */
  scannedBytes = 0;
  /** The start of an event still incomplete: kept as the chunks came, joined once when the event completes. */
  #held: Buffer[] | null = null;
  #heldBytes = 0;
  /** Terminator state at the end of the held bytes. */
  #state = MID_LINE;
  /** In the buffer being scanned, no LF at or after this position (so lone-CR streams are scanned once). */
  #noLfFrom = Infinity;
  #count = 0;
  readonly #ctx: RequestContext;
  readonly #hooks: readonly EventHook[];
  readonly #usage: UsageReading | null;
  readonly #maxEventBytes: number;
  /** Ollama's streams: one JSON object per line instead of server-sent events. */
  readonly #ndjson: boolean;

  /** Where the stream stands for its closing events (see WireFormat.streamState), fed every forwarded event. */
  readonly state: StreamState | null;

  constructor(
    ctx: RequestContext,
    hooks: readonly EventHook[],
    usage: UsageReading | null = null,
    maxEventBytes = MAX_EVENT_BYTES,
    framing: 'sse' | 'ndjson' = 'sse',
    state: StreamState | null = null,
  ) {
    this.state = state;
    this.#ctx = ctx;
    this.#hooks = hooks;
    this.#usage = usage;
    this.#maxEventBytes = maxEventBytes;
    this.#ndjson = framing === 'ndjson';
  }

  push(chunk: Buffer): Buffer | null {
    if (this.stopped !== null || this.oversized) return null;
    this.#noLfFrom = Infinity;
    let end = this.#findEventEnd(chunk, 0);
    if (end === -1) {
      this.#hold(chunk);
      return null;
    }
    let buf = chunk;
    if (this.#held !== null) {
      // The held start of the event is copied once, now that the event is complete.
      this.#held.push(chunk);
      buf = Buffer.concat(this.#held, this.#heldBytes + chunk.length);
      end += this.#heldBytes;
      this.#held = null;
      this.#heldBytes = 0;
      this.#noLfFrom = Infinity;
    }
    // Forwarded bytes are `buf[from, start)` plus, only after a dropped event, earlier pieces in `kept`.
    let start = 0;
    let from = 0;
    let kept: Buffer[] | null = null;
    // With no hook and no stream state, only the usage reading looks at events, and only at those holding the
    // usage mark: the rest are stepped over without an event object. `markAt`: the next mark at or after `start`.
    const usageOnly = this.#hooks.length === 0 && this.state === null;
    const mark = usageOnly ? (this.#usage?.wire.usageMark ?? null) : null;
    let markAt = mark === null ? -1 : buf.indexOf(mark);
    for (;;) {
      if (usageOnly && (markAt === -1 || markAt >= end)) {
        this.#count++;
        start = end;
        end = this.#findEventEnd(buf, start);
        if (end === -1) break;
        continue;
      }
      const event = new SseEvent(buf.subarray(start, end), this.#count++, this.#ndjson);
      if (this.#usage !== null && this.#readUsage(event)) {
        (kept ??= []).push(buf.subarray(from, start));
        from = end;
      }
      for (const hook of this.#hooks) {
        const result = hook(this.#ctx, event);
        if (result !== undefined) {
          this.stopped = result;
          return join(kept, buf.subarray(from, Math.max(from, start)));
        }
      }
      this.state?.observe(event);
      start = end;
      if (mark !== null) markAt = buf.indexOf(mark, start);
      end = this.#findEventEnd(buf, start);
      if (end === -1) break;
    }
    if (start < buf.length) this.#hold(buf.subarray(start));
    if (kept === null) return start === buf.length ? buf : buf.subarray(0, start);
    return join(kept, buf.subarray(from, Math.max(from, start)));
  }

  #hold(bytes: Buffer): void {
    (this.#held ??= []).push(bytes);
    this.#heldBytes += bytes.length;
    if (this.#heldBytes > this.#maxEventBytes) {
      this.oversized = true;
      this.#held = null;
      this.#heldBytes = 0;
    }
  }

  /**
   * Index just past the blank line that ends the event at `from` (the state of the bytes before `from` is
   * `#state`), or -1, leaving in `#state` where the buffer's end stands. Only bytes at or after `from` are read.
   */
  #findEventEnd(buf: Buffer, from: number): number {
    if (this.#ndjson) {
      // A line ends at its newline; only the bytes not yet searched are read.
      const lf = buf.indexOf(LF, from);
      this.scannedBytes += (lf === -1 ? buf.length : lf + 1) - from;
      return lf === -1 ? -1 : lf + 1;
    }
    const n = buf.length;
    if (from === n) return -1;
    let i = from;
    let state = this.#state;
    for (;;) {
      // A terminator under way (begun in earlier bytes, or a line end just found) is finished byte by byte.
      while (state !== MID_LINE && i < n) {
        state = step(state, buf[i++]);
        this.scannedBytes++;
        if (state === ENDS) {
          this.#state = MID_LINE;
          return i;
        }
      }
      if (i >= n) break;
      const lf = i >= this.#noLfFrom ? -1 : buf.indexOf(LF, i);
      if (lf === -1) {
        this.#noLfFrom = i;
        // Lone-CR line endings are legal SSE but unused by LLM servers; "\r\r" still ends an event.
        const cr = buf.indexOf('\r\r', i);
        this.scannedBytes += (cr === -1 ? n : cr + 2) - i;
        if (cr !== -1) {
          this.#state = MID_LINE;
          return cr + 2;
        }
        // The last two bytes are all a terminator can have started with.
        state = MID_LINE;
        for (let j = Math.max(i, n - 2); j < n; j++) state = step(state, buf[j]);
        this.#state = state;
        return -1;
      }
      // The usual case, checked before the general one: "\n\n".
      if (buf[lf + 1] === LF) {
        this.scannedBytes += lf + 2 - i;
        this.#state = MID_LINE;
        return lf + 2;
      }
      this.scannedBytes += lf + 1 - i;
      i = lf + 1;
      state = AFTER_LF;
    }
    this.#state = state;
    return -1;
  }

  /** Reads a usage event into `ctx.usage`; true when it is the injected one that must not be forwarded. */
  #readUsage(event: SseEvent): boolean {
    // A byte search first: most chunks carry no usage object, and JSON is parsed only when one does.
    const reading = this.#usage!;
    if (event.raw.indexOf(reading.wire.usageMark) === -1) return false;
    const usage = reading.wire.usageOfEvent(event.json);
    if (usage === null) return false;
    if (reading.read) {
      // An event may count only the output (Anthropic's message_delta): the prompt counted before it stays.
      const before = this.#ctx.usage;
      this.#ctx.usage =
        before !== null && usage.promptTokens === 0 && before.promptTokens > 0
          ? { promptTokens: before.promptTokens, completionTokens: usage.completionTokens, totalTokens: before.promptTokens + usage.completionTokens }
          : usage;
    }
    return reading.dropInjected && reading.wire.isUsageOnlyEvent(event.json);
  }

  /** Bytes of an unterminated last event at the end of the stream; forwarded as they are. */
  flush(): Buffer | null {
    const held = this.#held;
    this.#held = null;
    this.#heldBytes = 0;
    return held === null ? null : held.length === 1 ? held[0]! : Buffer.concat(held);
  }
}

function join(kept: Buffer[] | null, last: Buffer): Buffer | null {
  const parts = kept === null ? [last] : [...kept, last];
  const total = parts.reduce((n, p) => n + p.length, 0);
  return total === 0 ? null : parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}
