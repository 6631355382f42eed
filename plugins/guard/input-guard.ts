// A scanner on the request: reads the selected messages before anything goes upstream, then blocks (400,
// code content_filter, nothing sent), redacts the matched spans in the body, or only records the verdict.

import { requestText, SluiceError, type MessageSelection, type RequestContext, type TextPart } from '../../core/plugin/api.ts';
import { redact } from './scanners/secrets.ts';
import type { GuardAction, ScannerSpec } from './specs.ts';
import type { ScanMatch, Scanner } from './types.ts';
import { recordVerdict } from './verdicts.ts';

export interface InputGuardSettings {
  readonly spec: ScannerSpec;
  readonly scanner: Scanner;
  readonly action: GuardAction;
  readonly messages: MessageSelection;
}

interface Hit {
  readonly part: TextPart;
  readonly matches: readonly ScanMatch[];
}

/** Scans the request; throws the block error, or returns with the body redacted or the verdict recorded. */
export function guardInput(ctx: RequestContext, settings: InputGuardSettings): void {
  const { spec, scanner, action } = settings;
  const parts = requestText(ctx.body, settings.messages);
  if (parts.length === 0) return;
  let score = 0;
  const hits: Hit[] = [];
  if (spec.joined) {
    const result = scanner.scan(parts.length === 1 ? parts[0]!.text : parts.map((p) => p.text).join('\n'));
    score = result.score;
    if (result.flagged) hits.push({ part: parts[parts.length - 1]!, matches: [] });
  } else {
    for (const part of parts) {
      const result = scanner.scan(part.text);
      if (result.score > score) score = result.score;
      if (result.flagged) hits.push({ part, matches: result.matches });
    }
  }
  const flagged = hits.length > 0;
  recordVerdict(ctx, { scanner: spec.name, direction: 'input', score, flagged, action });
  if (!flagged || action === 'log') return;
  if (action === 'redact') {
    ctx.setBody(redacted(ctx.body, hits));
    return;
  }
  throw blockedRequest(spec.name, paramOf(hits[0]!.part));
}

/** The 400 a blocked request gets: OpenAI's `content_filter` code, the scanner named, the field at fault. */
export function blockedRequest(scanner: string, param: string | null): SluiceError {
  return new SluiceError('SLUICE_CONTENT_BLOCKED', `The request was blocked by the content policy (scanner: ${scanner}).`, {
    param,
    details: { scanner },
  });
}

/** Where the text is in the body, as OpenAI's `error.param` names it: `messages[2].content`, `prompt`. */
export function paramOf(part: TextPart): string | null {
  if (part.message >= 0) return part.part >= 0 ? `messages[${part.message}].content[${part.part}].text` : `messages[${part.message}].content`;
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
    const message = (body['messages'] as Record<string, unknown>[])[part.message]!;
    if (part.part < 0) message['content'] = text;
    else ((message['content'] as Record<string, unknown>[])[part.part]!)['text'] = text;
  } else if (part.part < 0) {
    body[part.role] = text;
  } else {
    (body[part.role] as unknown[])[part.part] = text;
  }
}
