// The stream tap: splits an upstream event stream into events for the plugins that asked, never changing a byte.
//
// Only built when some plugin defines `onResponseEvent`. Each event is split out once and shared by every plugin;
// its text and JSON are decoded on first access and cached. To guarantee that a stopped stream leaks nothing,
// a tapped stream forwards whole events: the bytes of an event that is still incomplete at the end of a chunk
// are held until its terminating blank line arrives (the bytes themselves are forwarded unchanged).

import type { RequestContext } from '../plugin/context.ts';
import { SseEvent, type EventHook, type StreamStop } from '../plugin/stream-event.ts';

const LF = 0x0a;
const CR = 0x0d;

/**
 * Per-response tap. `push(chunk)` returns the bytes that may be forwarded now (a view of the chunk when no
 * event straddles a chunk boundary), or null. After a hook stops the stream, `stopped` is set and the returned
 * bytes end just before the event that triggered it.
 */
export interface UsageReading {
  /** Fill `ctx.usage` from the stream's usage event. */
  readonly read: boolean;
  /** The gateway asked for the usage event on the client's behalf: do not forward it. */
  readonly dropInjected: boolean;
}

const USAGE_MARK = Buffer.from('"usage":{');

export class SseTap {
  stopped: StreamStop | null = null;
  #pending: Buffer | null = null;
  #count = 0;
  readonly #ctx: RequestContext;
  readonly #hooks: readonly EventHook[];
  readonly #usage: UsageReading | null;

  constructor(ctx: RequestContext, hooks: readonly EventHook[], usage: UsageReading | null = null) {
    this.#ctx = ctx;
    this.#hooks = hooks;
    this.#usage = usage;
  }

  push(chunk: Buffer): Buffer | null {
    if (this.stopped !== null) return null;
    const buf = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    // Where the search for the next event end starts: an old pending tail was already scanned.
    let start = 0;
    let scan = this.#pending === null ? 0 : Math.max(0, this.#pending.length - 3);
    this.#pending = null;
    // Forwarded bytes are `buf[from, start)` plus, only after a dropped event, earlier pieces in `kept`.
    let from = 0;
    let kept: Buffer[] | null = null;
    for (;;) {
      const end = findEventEnd(buf, scan);
      if (end === -1) break;
      const event = new SseEvent(buf.subarray(start, end), this.#count++);
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
      start = scan = end;
    }
    if (start < buf.length) this.#pending = buf.subarray(start);
    if (kept === null) return start === 0 ? null : start === buf.length ? buf : buf.subarray(0, start);
    return join(kept, buf.subarray(from, Math.max(from, start)));
  }

  /** Reads a usage event into `ctx.usage`; true when it is the injected one that must not be forwarded. */
  #readUsage(event: SseEvent): boolean {
    // A byte search first: most chunks carry no usage object, and JSON is parsed only when one does.
    if (event.raw.indexOf(USAGE_MARK) === -1) return false;
    const json = event.json as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown; total_tokens?: unknown } | null; choices?: unknown[] } | undefined;
    const usage = json?.usage;
    if (usage == null || typeof usage.total_tokens !== 'number') return false;
    if (this.#usage!.read) {
      this.#ctx.usage = {
        promptTokens: typeof usage.prompt_tokens === 'number' ? usage.prompt_tokens : 0,
        completionTokens: typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0,
        totalTokens: usage.total_tokens,
      };
    }
    return this.#usage!.dropInjected && Array.isArray(json!.choices) && json!.choices.length === 0;
  }

  /** Bytes of an unterminated last event at the end of the stream; forwarded as they are. */
  flush(): Buffer | null {
    const rest = this.#pending;
    this.#pending = null;
    return rest;
  }
}

function join(kept: Buffer[] | null, last: Buffer): Buffer | null {
  const parts = kept === null ? [last] : [...kept, last];
  const total = parts.reduce((n, p) => n + p.length, 0);
  return total === 0 ? null : parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}

/** Index just past the blank line that ends the event starting at or before `from`, or -1. */
function findEventEnd(buf: Buffer, from: number): number {
  let i = from;
  const n = buf.length;
  while (i < n) {
    const lf = buf.indexOf(LF, i);
    if (lf === -1) {
      // Lone-CR line endings are legal SSE but unused by LLM servers; "\r\r" still ends an event.
      const cr = buf.indexOf('\r\r', i);
      return cr === -1 ? -1 : cr + 2;
    }
    const next = buf[lf + 1];
    if (next === LF) return lf + 2;
    if (next === CR && buf[lf + 2] === LF) return lf + 3;
    i = lf + 1;
  }
  return -1;
}
