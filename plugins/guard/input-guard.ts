// A scanner on the request: reads the selected messages before anything goes upstream, then blocks (400,
// code content_filter, nothing sent), redacts the matched spans in the body, or only records the verdict (`log`),
// or records it and writes a log line for each request it would have blocked (`monitor`, for rolling a guard out).
//
// A route (the requested model, or the API path) may have its own threshold and action: the first `routes` entry
// that matches the request is used, else the guard's own.
//
// A scan runs on the event loop, so one huge prompt would hold up every client (9 MB took seconds). Each guard
// reads at most `max_scan_chars` of a request, the selected messages together rather than each one, so that
// splitting a prompt into many messages does not get round it.

import { requestText, SluiceError, type Logger, type MessageSelection, type RequestContext, type TextPart } from '../../core/plugin/api.ts';
import { redact } from './scanners/secrets.ts';
import type { GuardAction, ScannerSpec } from './specs.ts';
import type { ScanMatch, Scanner } from './types.ts';
import { recordVerdict } from './verdicts.ts';

/** Past `max_scan_chars`: refuse the request (400), or read only what fits. */
export type Oversize = 'block' | 'truncate';

/** 256 Ki characters (about 64K tokens of English): the four content scanners read that in about 15–25 ms. */
export const DEFAULT_MAX_SCAN_CHARS = 256 * 1024;

/** A route's own scanner (built with its threshold) and action. */
export interface RouteGuard {
  /** Requested model names; `gpt-4o*` matches by prefix. Null: any model. */
  readonly models: readonly string[] | null;
  /** API paths, e.g. `/v1/completions`. Null: any path. */
  readonly paths: readonly string[] | null;
  readonly scanner: Scanner;
  readonly threshold: number | undefined;
  readonly action: GuardAction;
}

export interface InputGuardSettings {
  readonly spec: ScannerSpec;
  readonly scanner: Scanner;
  /** The guard's own threshold, when configured (the scanner's default otherwise); for the monitor line. */
  readonly threshold: number | undefined;
  readonly action: GuardAction;
  /** Per-route overrides, first match wins. */
  readonly routes: readonly RouteGuard[];
  /** Where `monitor` writes its lines. */
  readonly logger: Logger;
  readonly messages: MessageSelection;
  /** The most characters the scanner reads in one request. Joined scanners (a token count) read everything. */
  readonly maxScanChars: number;
  readonly oversize: Oversize;
}

/** Where a window handed to the scanner starts in its part's text. */
interface Window {
  readonly text: string;
  readonly offset: number;
}

/** A part and the windows of it the scanner reads: the whole text, or its head and tail when truncated. */
interface PartToScan {
  readonly part: TextPart;
  readonly windows: readonly Window[];
}

interface Hit {
  readonly part: TextPart;
  readonly matches: readonly ScanMatch[];
}

/** Scans the request; throws the block error, or returns with the body redacted or the verdict recorded. */
export function guardInput(ctx: RequestContext, settings: InputGuardSettings): void {
  const { spec } = settings;
  const route = routeOf(ctx, settings.routes);
  const scanner = route?.scanner ?? settings.scanner;
  const action = route?.action ?? settings.action;
  const parts = requestText(ctx.body, settings.messages);
  if (parts.length === 0) return;
  let score = 0;
  const hits: Hit[] = [];
  if (spec.joined) {
    const result = scanner.scan(parts.length === 1 ? parts[0]!.text : parts.map((p) => p.text).join('\n'));
    score = result.score;
    if (result.flagged) hits.push({ part: parts[parts.length - 1]!, matches: [] });
  } else {
    // A guard that only logs or monitors never refuses a request, not even one too long to read whole.
    for (const { part, windows } of partsToScan(ctx, parts, settings, action !== 'log' && action !== 'monitor')) {
      let flagged = false;
      const matches: ScanMatch[] = [];
      for (const window of windows) {
        const result = scanner.scan(window.text);
        if (result.score > score) score = result.score;
        if (!result.flagged) continue;
        flagged = true;
        for (const m of result.matches) matches.push(window.offset === 0 ? m : { ...m, start: m.start + window.offset, end: m.end + window.offset });
      }
      if (flagged) hits.push({ part, matches });
    }
  }
  const flagged = hits.length > 0;
  recordVerdict(ctx, { scanner: spec.name, direction: 'input', score, flagged, action });
  if (!flagged || action === 'log') return;
  if (action === 'monitor') {
    const rules = [...new Set(hits.flatMap((h) => h.matches.map((m) => m.rule)))];
    const threshold = route !== undefined ? route.threshold : settings.threshold;
    settings.logger.info(`guard monitor: ${spec.name} would block this request`, {
      id: ctx.id,
      scanner: spec.name,
      score: Math.round(score * 1000) / 1000,
      ...(threshold === undefined ? {} : { threshold }),
      model: ctx.model,
      path: ctx.path,
      ...(rules.length === 0 ? {} : { matched: rules.join(',') }),
    });
    return;
  }
  if (action === 'redact') {
    ctx.setBody(redacted(ctx.body, hits));
    return;
  }
  throw blockedRequest(spec.name, paramOf(hits[0]!.part));
}

/**
 * The first route entry that matches the request's model and path. A path matches with or without its `/v1`
 * prefix, and a model by the name asked for or by the group it resolved to (an alias), since both reach the same
 * deployments: a stricter route must not be side-stepped by the other spelling.
 */
function routeOf(ctx: RequestContext, routes: readonly RouteGuard[]): RouteGuard | undefined {
  if (routes.length === 0) return undefined;
  const otherPath = ctx.path.startsWith('/v1/') ? ctx.path.slice(3) : `/v1${ctx.path}`;
  const group = ctx.group?.name ?? ctx.model;
  const modelMatches = (pattern: string, model: string): boolean => (pattern.endsWith('*') ? model.startsWith(pattern.slice(0, -1)) : model === pattern);
  for (const route of routes) {
    if (route.paths !== null && !route.paths.includes(ctx.path) && !route.paths.includes(otherPath)) continue;
    if (route.models !== null && !route.models.some((m) => modelMatches(m, ctx.model) || modelMatches(m, group))) continue;
    return route;
  }
  return undefined;
}

/** The 400 a blocked request gets: OpenAI's `content_filter` code, the scanner named, the field at fault. */
export function blockedRequest(scanner: string, param: string | null): SluiceError {
  return new SluiceError('SLUICE_CONTENT_BLOCKED', `The request was blocked by the content policy (scanner: ${scanner}).`, {
    param,
    details: { scanner },
  });
}

/**
 * What the scanner reads: every part whole when they fit in `maxScanChars`. Past it, `block` throws; `truncate`
 * reads the newest parts that fit whole, then the head and tail of the next one, and none older (the access log
 * gets `guard_truncated`).
 */
function partsToScan(ctx: RequestContext, parts: readonly TextPart[], settings: InputGuardSettings, enforcing: boolean): PartToScan[] {
  const max = settings.maxScanChars;
  let total = 0;
  for (const part of parts) {
    total += part.text.length;
    if (total > max && settings.oversize === 'block' && enforcing) throw tooLongToScan(settings.spec.name, max, paramOf(part));
  }
  if (total <= max) return parts.map((part) => ({ part, windows: [{ text: part.text, offset: 0 }] }));
  const out: PartToScan[] = [];
  let left = max;
  for (let i = parts.length - 1; i >= 0 && left > 0; i--) {
    const part = parts[i]!;
    const text = part.text;
    if (text.length <= left) {
      out.push({ part, windows: [{ text, offset: 0 }] });
      left -= text.length;
      continue;
    }
    const head = Math.floor(left / 2);
    const tail = left - head;
    const windows = [{ text: text.slice(text.length - tail), offset: text.length - tail }];
    if (head > 0) windows.unshift({ text: text.slice(0, head), offset: 0 });
    out.push({ part, windows });
    left = 0;
  }
  const truncated = ctx.logFields['guard_truncated'];
  ctx.logFields['guard_truncated'] = typeof truncated === 'string' ? `${truncated},${settings.spec.name}` : settings.spec.name;
  return out.reverse();
}

/** The 400 for a request with more text than a guard reads: `content_filter`, the scanner and the limit named. */
function tooLongToScan(scanner: string, limit: number, param: string | null): SluiceError {
  return new SluiceError(
    'SLUICE_CONTENT_TOO_LONG',
    `The request has more text than the content policy checks (scanner: ${scanner}, limit: ${limit.toLocaleString('en')} character${limit === 1 ? '' : 's'}).`,
    { param, details: { scanner, limit } },
  );
}

/** Where the text is in the body, as OpenAI's `error.param` names it: `messages[2].content`, `prompt`. */
export function paramOf(part: TextPart): string | null {
  const list = part.list ?? 'messages';
  if (part.message >= 0) return part.part >= 0 ? `${list}[${part.message}].content[${part.part}].text` : `${list}[${part.message}].content`;
  return part.part >= 0 ? `${part.role}[${part.part}]` : part.role;
}

/** A copy of the body with each hit's spans replaced by `[REDACTED:<rule>]`; the client's body is not touched. */
function redacted(body: Readonly<Record<string, unknown>>, hits: readonly Hit[]): Record<string, unknown> {
  const copy = structuredClone(body) as Record<string, unknown>;
  for (const { part, matches } of hits) {
    if (matches.length > 0) replaceText(copy, part, redact(part.text, matches));
  }
  return copy;
}

/** Puts `text` where `part` was read from. */
export function replaceText(body: Record<string, unknown>, part: TextPart, text: string): void {
  if (part.message >= 0) {
    const message = (body[part.list ?? 'messages'] as Record<string, unknown>[])[part.message]!;
    if (part.part < 0) message['content'] = text;
    else ((message['content'] as Record<string, unknown>[])[part.part]!)['text'] = text;
  } else if (part.part < 0) {
    body[part.role] = text;
  } else {
    // A list of strings (`prompt`, `input`), or of text blocks (Anthropic's `system`).
    const items = body[part.role] as unknown[];
    const item = items[part.part];
    if (typeof item === 'object' && item !== null) (item as Record<string, unknown>)['text'] = text;
    else items[part.part] = text;
  }
}
