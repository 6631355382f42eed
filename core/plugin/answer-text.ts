// The answer text of a response in whichever API the client called, for plugins that judge what a model said
// (output guards): they read one accessor instead of four wire formats.

import { wireOf } from '../providers/index.ts';
import type { RequestContext } from './context.ts';
import type { SseEvent } from './stream-event.ts';

/**
 * The answer text one stream event adds: OpenAI's `delta.content` (or `text`) of the first choice, Ollama's
 * `message.content` / `response`, a Messages `text_delta`, a Responses `response.output_text.delta`.
 */
export function answerText(ctx: RequestContext, event: SseEvent): string {
  return wireOf(ctx.api).eventText(event);
}

/** The answer text of a whole JSON answer (`json` as `ResponseBody.json` gives it), in the API the client called. */
export function answerTextOfBody(ctx: RequestContext, json: unknown): string {
  return wireOf(ctx.api).bodyText(json);
}
