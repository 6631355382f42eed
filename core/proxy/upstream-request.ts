// Building one upstream request: which client headers go on, the deployment's credentials, and the body, with the
// model name the deployment knows. The client's bytes are forwarded as they came unless a plugin changed the body.

import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Deployment, Endpoint } from '../config/models.ts';
import type { Chain } from '../plugin/chain.ts';
import type { RequestContext } from '../plugin/context.ts';
import type { WireFormat } from '../providers/wire-format.ts';
import { mayHoldAnotherModel, replaceModel } from '../http/body.ts';

/** Client request headers that are not passed upstream: hop-by-hop, recomputed, or the gateway's own credentials. */
const NOT_FORWARDED = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'content-length',
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'x-litellm-api-key',
  'api-key',
]);

/**
 * Token accounting needs a stream's usage event: when a plugin wants usage and the client did not ask for it, the
 * body asks for it (and the stream tap drops that event on the way back). True when it was added.
 */
export function askForStreamUsage(ctx: RequestContext, chain: Chain): boolean {
  if (!chain.wantsUsage || !ctx.stream || ctx.endpoint === 'embeddings') return false;
  const options = ctx.body['stream_options'];
  const asked = typeof options === 'object' && options !== null && (options as { include_usage?: unknown }).include_usage === true;
  if (asked) return false;
  ctx.setBody({ ...ctx.body, stream_options: { ...(typeof options === 'object' && options !== null ? options : {}), include_usage: true } });
  return true;
}

/** The deadlines undici enforces as a backstop (ms, 0 = none); the attempt keeps the precise ones. */
export interface UpstreamDeadlines {
  readonly firstByteMs: number;
  readonly idleMs: number;
}

/** The request for `deployment`, from the client's request (`rawHeaders` as received) and the context. */
export function buildUpstreamRequest(
  ctx: RequestContext,
  deployment: Deployment,
  rawHeaders: readonly string[],
  chain: Chain,
  wire: WireFormat,
  deadlines: UpstreamDeadlines,
): Dispatcher.DispatchOptions {
  let body: Buffer | string = ctx.rawBody;
  if (ctx.bodyChanged) {
    ctx.body['model'] = deployment.upstreamModel;
    body = JSON.stringify(ctx.body);
  } else if (deployment.upstreamModel !== ctx.model || mayHoldAnotherModel(ctx.rawBody)) {
    // Only the model changes: the client's bytes are kept, nothing parsed is serialized again. A body that may
    // hold a second top-level `model` key is rewritten too, so no backend reads a model other than the one checked.
    body = replaceModel(ctx.rawBody, deployment.upstreamModel);
  }
  const headers: string[] = [];
  // A body a plugin reads (stream events, usage, a JSON answer) must arrive as plain text, never compressed.
  const readsBody = chain.eventHooks !== null || chain.hooks.onResponseBody !== null || chain.wantsUsage;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    // HTTP/2 pseudo-headers (`:path`, `:authority`...) describe the client's hop only.
    if (name.charCodeAt(0) === 58 || NOT_FORWARDED.has(name) || (readsBody && name === 'accept-encoding')) continue;
    headers.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  if (readsBody) headers.push('accept-encoding', 'identity');
  for (const name in ctx.upstreamHeaders) headers.push(name, ctx.upstreamHeaders[name]!);
  if (deployment.apiKey !== null) {
    headers.push(deployment.apiKeyHeader, deployment.apiKeyHeader === 'authorization' ? `Bearer ${deployment.apiKey}` : deployment.apiKey);
  }
  if ((ctx.headers as IncomingHttpHeaders)['x-request-id'] === undefined) headers.push('x-request-id', ctx.id);
  headers.push('content-length', String(Buffer.byteLength(body)));
  return {
    path: deployment.basePath + wire.upstreamPath(ctx.endpoint as Endpoint) + deployment.pathQuery,
    method: 'POST',
    headers,
    body,
    // undici's own deadline is only a backstop behind the attempt's precise one.
    headersTimeout: deadlines.firstByteMs === 0 ? 0 : deadlines.firstByteMs + 2000,
    bodyTimeout: deadlines.idleMs,
  };
}
