// Building one upstream request: which client headers go on, the deployment's credentials, and the body, with the
// model name the deployment knows. The client's bytes are forwarded as they came unless a plugin changed the body.

import type { Dispatcher } from 'undici';
import type { Deployment, Endpoint } from '../config/models.ts';
import type { Chain } from '../plugin/chain.ts';
import type { RequestContext } from '../plugin/context.ts';
import { foreignBackend } from '../providers/index.ts';
import type { WireFormat } from '../providers/wire-format.ts';
import { mayHoldAnotherModel, replaceModel } from '../http/body.ts';
import { withDefaults, withoutDropped } from '../config/request-defaults.ts';

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
  // The body goes upstream decoded (see readBody).
  'content-encoding',
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
  /** `litellm_settings.drop_params`: drop what the provider refuses (a deployment's own `drop_params` wins). */
  dropParams = false,
): Dispatcher.DispatchOptions {
  let body: Buffer | string = ctx.rawBody;
  // The deployment's litellm_params defaults go into a copy: ctx.body is shared with the next attempt's deployment.
  const withDefaultsAdded = deployment.requestDefaults === null ? null : withDefaults(ctx.body, deployment.requestDefaults, ctx.endpoint);
  const defaulted =
    withoutDropped(withDefaultsAdded ?? ctx.body, deployment.provider, deployment.requestDefaults, dropParams, ctx.endpoint) ??
    withDefaultsAdded;
  // A backend of another wire family gets the request rebuilt in its own format (defaults included).
  const foreign = foreignBackend(deployment);
  const rebuilt = foreign === null ? null : foreign.request(defaulted ?? ctx.body, ctx.endpoint as Endpoint, deployment.upstreamModel, deployment.basePath, deployment.apiKey);
  if (rebuilt !== null) {
    body = rebuilt.body;
  } else if (defaulted !== null) {
    defaulted['model'] = deployment.upstreamModel;
    body = JSON.stringify(defaulted);
  } else if (ctx.bodyChanged) {
    ctx.body['model'] = deployment.upstreamModel;
    body = JSON.stringify(ctx.body);
  } else if (deployment.upstreamModel !== ctx.model || mayHoldAnotherModel(ctx.rawBody)) {
    // Only the model changes: the client's bytes are kept, nothing parsed is serialized again. A body that may
    // hold a second top-level `model` key is rewritten too, so no backend reads a model other than the one checked.
    body = replaceModel(ctx.rawBody, deployment.upstreamModel);
  }
  const headers: string[] = [];
  // An answer a plugin reads (stream events, usage, a JSON body) or that is translated must arrive as plain text.
  const plainAnswer = rebuilt !== null || chain.eventHooks !== null || chain.hooks.onResponseBody !== null || chain.wantsUsage;
  // The deployment's extra_headers are its configuration, like its api_key: they replace a client's header.
  const extraHeaders = deployment.requestDefaults?.headers;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    // HTTP/2 pseudo-headers (`:path`, `:authority`...) describe the client's hop only.
    if (name.charCodeAt(0) === 58 || NOT_FORWARDED.has(name) || (plainAnswer && name === 'accept-encoding')) continue;
    // A rebuilt request states its own content type; the deployment's extra_headers replace the client's.
    if ((rebuilt !== null && name === 'content-type') || extraHeaders?.has(name) === true) continue;
    headers.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  if (plainAnswer) headers.push('accept-encoding', 'identity');
  for (const name in ctx.upstreamHeaders) headers.push(name, ctx.upstreamHeaders[name]!);
  if (extraHeaders !== undefined) for (const [name, value] of extraHeaders) headers.push(name, value);
  if (rebuilt !== null) headers.push(...rebuilt.headers);
  else if (deployment.apiKey !== null && extraHeaders?.has(deployment.apiKeyHeader) !== true) {
    headers.push(deployment.apiKeyHeader, deployment.apiKeyHeader === 'authorization' ? `Bearer ${deployment.apiKey}` : deployment.apiKey);
  }
  if (ctx.headers['x-request-id'] === undefined) headers.push('x-request-id', ctx.id);
  headers.push('content-length', String(Buffer.byteLength(body)));
  return {
    path: rebuilt?.path ?? wire.upstreamPath(ctx.endpoint as Endpoint, deployment.basePath) + deployment.pathQuery,
    method: 'POST',
    headers,
    body,
    // undici's own deadline is only a backstop behind the attempt's precise one.
    headersTimeout: deadlines.firstByteMs === 0 ? 0 : deadlines.firstByteMs + 2000,
    bodyTimeout: deadlines.idleMs,
  };
}
