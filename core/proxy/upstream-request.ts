// Building one upstream request: which client headers go on, the deployment's credentials, and the body, with the
// model name the deployment knows. The client's bytes are forwarded as they came unless a plugin changed the body.

import type { Dispatcher } from 'undici';
import { SluiceError } from '../errors.ts';
import type { Deployment, Endpoint } from '../config/models.ts';
import type { Chain } from '../plugin/chain.ts';
import type { RequestContext } from '../plugin/context.ts';
import { foreignBackend, nativeCredentials } from '../providers/index.ts';
import { openai } from '../providers/openai.ts';
import type { ForeignRequest, ResponseTranslator, WireFormat } from '../providers/wire-format.ts';
import { ChainedTranslator } from './translating-handler.ts';
import { formOf, type EncodedForm } from '../http/multipart.ts';
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
  // Only OpenAI's own API: a bridged API asks on its translated request, the others report usage unasked.
  if (!chain.wantsUsage || !ctx.stream || ctx.endpoint === 'embeddings' || ctx.api !== 'openai') return false;
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

/** One upstream request, and the translator its answer goes through when the backend speaks another API. */
export interface UpstreamRequest {
  readonly options: Dispatcher.DispatchOptions;
  readonly translator: ResponseTranslator | null;
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
): UpstreamRequest {
  let body: Buffer | string = ctx.rawBody;
  let path: string | null = null;
  let endpoint = ctx.endpoint as Endpoint;
  let translator: ResponseTranslator | null = null;
  let rebuilt: ForeignRequest | null = null;
  /** Credential headers in the deployment's own style; null: the deployment's API key, as configured. */
  let credentials: readonly string[] | null = null;
  const native = wire.servesNatively(deployment);
  const form = formOf(ctx);
  /** An upload: re-encoded from the spool, its fields from ctx.body (plugins' edits) and the deployment's model. */
  let encodedForm: EncodedForm | null = null;
  if (form !== undefined) {
    if (!native) {
      throw new SluiceError('SLUICE_INVALID_PARAM', `Model \`${ctx.model}\` is served by a backend without an equivalent of ${ctx.path}.`, { param: 'model' });
    }
    encodedForm = form.encode({ ...ctx.body, model: deployment.upstreamModel });
  } else if (native && wire.id !== 'openai') {
    // Another API spoken by the deployment itself (Ollama's, Messages, Responses): its bytes go as they came.
    if (ctx.bodyChanged) {
      ctx.body['model'] = deployment.upstreamModel;
      body = JSON.stringify(ctx.body);
    } else if (deployment.upstreamModel !== ctx.model || mayHoldAnotherModel(ctx.rawBody)) {
      body = replaceModel(ctx.rawBody, deployment.upstreamModel);
    }
    credentials = nativeCredentials(wire, deployment, ctx.headers);
  } else {
    // OpenAI's API: the client's own, or the pivot a bridged API is translated into.
    let openaiBody: Record<string, unknown> | null = null;
    const bridge = native ? null : wire.bridge;
    if (bridge !== null) {
      const bridged = bridge.toOpenAI(ctx.body, endpoint);
      translator = bridge.fromOpenAI(ctx.model, ctx.body, endpoint);
      endpoint = bridged.endpoint;
      openaiBody = bridged.body;
    }
    const source = openaiBody ?? ctx.body;
    // The deployment's litellm_params defaults go into a copy: ctx.body is shared with the next attempt's deployment.
    const withDefaultsAdded = deployment.requestDefaults === null ? null : withDefaults(source, deployment.requestDefaults, endpoint);
    const defaulted =
      withoutDropped(withDefaultsAdded ?? source, deployment.provider, deployment.requestDefaults, dropParams, endpoint) ?? withDefaultsAdded ?? openaiBody;
    // A backend of another wire family gets the request rebuilt in its own format (defaults included).
    const foreign = foreignBackend(deployment);
    if (foreign !== null) {
      rebuilt = foreign.request(defaulted ?? ctx.body, endpoint, deployment.upstreamModel, deployment.basePath, deployment.apiKey);
      const back = foreign.translator(ctx.model, defaulted ?? ctx.body);
      translator = translator === null ? back : new ChainedTranslator(back, translator);
      body = rebuilt.body;
      path = rebuilt.path;
      credentials = rebuilt.headers;
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
  }
  const headers: string[] = [];
  // An answer a plugin reads (stream events, usage, a JSON body) or that is translated must arrive as plain text.
  const plainAnswer = translator !== null || chain.eventHooks !== null || chain.hooks.onResponseBody !== null || chain.wantsUsage;
  // The deployment's extra_headers are its configuration, like its api_key: they replace a client's header.
  const extraHeaders = deployment.requestDefaults?.headers;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    // HTTP/2 pseudo-headers (`:path`, `:authority`...) describe the client's hop only.
    if (name.charCodeAt(0) === 58 || NOT_FORWARDED.has(name) || (plainAnswer && name === 'accept-encoding')) continue;
    // A rebuilt request (or form) states its own content type; the deployment's extra_headers replace the client's.
    if (((rebuilt !== null || encodedForm !== null) && name === 'content-type') || extraHeaders?.has(name) === true) continue;
    headers.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  if (plainAnswer) headers.push('accept-encoding', 'identity');
  for (const name in ctx.upstreamHeaders) headers.push(name, ctx.upstreamHeaders[name]!);
  if (extraHeaders !== undefined) for (const [name, value] of extraHeaders) headers.push(name, value);
  if (credentials !== null) headers.push(...credentials);
  else if (deployment.apiKey !== null && extraHeaders?.has(deployment.apiKeyHeader) !== true) {
    headers.push(deployment.apiKeyHeader, deployment.apiKeyHeader === 'authorization' ? `Bearer ${deployment.apiKey}` : deployment.apiKey);
  }
  if (ctx.headers['x-request-id'] === undefined) headers.push('x-request-id', ctx.id);
  if (encodedForm !== null) headers.push('content-type', encodedForm.contentType, 'content-length', String(encodedForm.length));
  else headers.push('content-length', String(Buffer.byteLength(body)));
  const options: Dispatcher.DispatchOptions = {
    path: path ?? (native || wire.bridge === null ? wire : openai).upstreamPath(endpoint, deployment.basePath, ctx.path) + deployment.pathQuery,
    method: 'POST',
    headers,
    body: encodedForm === null ? body : encodedForm.stream(),
    // undici's own deadline is only a backstop behind the attempt's precise one.
    headersTimeout: deadlines.firstByteMs === 0 ? 0 : deadlines.firstByteMs + 2000,
    bodyTimeout: deadlines.idleMs,
  };
  return { options, translator };
}
