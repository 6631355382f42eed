// examples.token_cap: the plugin guide's example (docs/plugins.md). It touches every kind of hook a plugin can define.
//
// - onRequest: rejects requests asking for more than `max_tokens`, or fills the cap in when absent.
// - onResponseHeaders: tells the client which cap applied.
// - onResponseEvent: counts streamed content chunks (this is what turns the stream tap on).
// - log: reports the count.

import { createSlot, definePlugin, respond, type Plugin, type RequestContext, type SseEvent } from '../../../core/plugin/api.ts';

export interface TokenCapOptions {
  /** Largest `max_tokens` a client may ask for. */
  max_tokens: number;
  /** Set `max_tokens` to the cap when the client left it out. Default true. */
  fill_in?: boolean;
  /** Response header that reports the cap. Default `x-token-cap`. */
  header?: string;
}

/** Per-request state lives in a typed slot, never in module-level variables. */
const chunksSeen = createSlot<{ count: number }>('examples.token_cap.chunks');

/**
 * ```yaml
 * plugins:
 *   - route.round_robin
 *   - path: ./plugins/examples/token-cap/index.ts
 *     options: { max_tokens: 512 }
 * ```
 */
export default definePlugin<TokenCapOptions>({
  id: 'examples.token_cap',
  description: 'Caps max_tokens and counts streamed chunks.',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['max_tokens'],
    properties: {
      max_tokens: { type: 'integer', minimum: 1 },
      fill_in: { type: 'boolean', default: true },
      header: { type: 'string', pattern: '^[a-z0-9-]+$', default: 'x-token-cap' },
    },
  },

  // Runs once per configuration load: read options here, not per request.
  create(options, deps): Plugin {
    const cap = options.max_tokens;
    const header = options.header ?? 'x-token-cap';
    const fillIn = options.fill_in ?? true;

    return {
      onRequest(ctx: RequestContext) {
        const asked = ctx.body['max_tokens'];
        if (typeof asked === 'number' && asked > cap) {
          // A reply ends the chain: nothing is sent upstream.
          return respond(400, {
            error: { message: `max_tokens may be at most ${cap}.`, type: 'invalid_request_error', param: 'max_tokens', code: 'max_tokens_too_large' },
          });
        }
        if (asked === undefined && fillIn) ctx.setBody({ ...ctx.body, max_tokens: cap });
        return undefined;
      },

      onResponseHeaders(ctx) {
        ctx.responseHeaders[header] = String(cap);
      },

      onResponseEvent(ctx, event: SseEvent) {
        const json = event.json as { choices?: { delta?: { content?: string } }[] } | undefined;
        if (json?.choices?.[0]?.delta?.content) {
          const state = ctx.get(chunksSeen) ?? { count: 0 };
          state.count++;
          ctx.set(chunksSeen, state);
        }
      },

      log(ctx) {
        const chunks = ctx.get(chunksSeen)?.count;
        if (chunks !== undefined) deps.logger.debug('token_cap: streamed chunks', { request: ctx.id, chunks });
      },
    };
  },
});
