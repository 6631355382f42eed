// The local routes of the client APIs other than OpenAI's: Ollama's model list, running models, show and version
// (and its `GET /` banner), Anthropic's token count. They read the generation's groups, as /v1/models does.

import type { ModelGroup } from '../config/models.ts';
import { SluiceError } from '../errors.ts';
import { respond } from '../http/reply.ts';
import type { RequestContext } from '../plugin/context.ts';
import { countTokens } from '../providers/anthropic-messages.ts';
import { OLLAMA_VERSION_BODY, ollamaPs, ollamaShow, ollamaTags, type OllamaModelEntry } from '../providers/ollama-api.ts';
import type { LocalRoute } from '../proxy/pipeline.ts';
import type { InfoSources } from './info-routes.ts';

export interface ClientApiRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly route: LocalRoute;
}

/** The groups a caller may use: a key limited to some models sees only those. */
function visibleGroups(sources: InfoSources, ctx: RequestContext): ModelGroup[] {
  const allowed = ctx.auth?.models ?? null;
  const all = [...sources.groups.values()];
  return allowed === null ? all : all.filter((group) => allowed.has(group.name));
}

/** The group a POST names in `model` (Ollama's /api/show also takes `name`), or a 404 in the API's shape. */
function namedGroup(sources: InfoSources, ctx: RequestContext): ModelGroup {
  const named = ctx.body['model'] ?? ctx.body['name'];
  if (typeof named !== 'string' || named === '') throw new SluiceError('SLUICE_MISSING_PARAM', 'The request needs a `model`.', { param: 'model' });
  const group = sources.lookup(named);
  const allowed = ctx.auth?.models ?? null;
  if (group === undefined || (allowed !== null && !allowed.has(named))) {
    throw new SluiceError('SLUICE_MODEL_NOT_FOUND', `The model \`${named}\` does not exist or you do not have access to it.`, { param: 'model', details: { model: named } });
  }
  return group;
}

/** What a group's deployments say of it in `model_info` (context length, capabilities), for Ollama's listings. */
function entryOf(group: ModelGroup): OllamaModelEntry & { contextLength?: number } {
  const info = group.deployments[0]?.info ?? {};
  const max = info['max_input_tokens'] ?? info['max_tokens'];
  return { name: group.name, ...(typeof max === 'number' ? { contextLength: max } : {}) };
}

function capabilitiesOf(group: ModelGroup): string[] {
  const info = group.deployments[0]?.info ?? {};
  if (info['mode'] === 'embedding') return ['embedding'];
  const out = ['completion'];
  if (info['supports_function_calling'] === true) out.push('tools');
  if (info['supports_vision'] === true) out.push('vision');
  if (info['supports_reasoning'] === true) out.push('thinking');
  return out;
}

export function clientApiRoutes(sources: InfoSources): ClientApiRoute[] {
  const get = (path: string, auth: boolean, handle: (ctx: RequestContext) => ReturnType<LocalRoute['handle']>): ClientApiRoute => ({
    method: 'GET',
    path,
    route: { auth, readsBody: false, handle },
  });
  const post = (path: string, handle: (ctx: RequestContext) => ReturnType<LocalRoute['handle']>): ClientApiRoute => ({
    method: 'POST',
    path,
    route: { auth: true, readsBody: true, handle },
  });
  return [
    // Ollama's clients check the server with these two before anything else, without a key.
    get('/', false, () => respond(200, 'Ollama is running')),
    get('/api/version', false, () => respond(200, OLLAMA_VERSION_BODY)),
    get('/api/tags', true, (ctx) => respond(200, ollamaTags(visibleGroups(sources, ctx).map(entryOf)))),
    get('/api/ps', true, (ctx) => respond(200, ollamaPs(visibleGroups(sources, ctx).map(entryOf)))),
    post('/api/show', (ctx) => {
      const group = namedGroup(sources, ctx);
      const { contextLength } = entryOf(group);
      return respond(200, ollamaShow(group.name, { capabilities: capabilitiesOf(group), ...(contextLength === undefined ? {} : { contextLength }) }));
    }),
    // An estimate for every group: the gateway counts with its own tokenizer rather than asking a backend.
    post('/v1/messages/count_tokens', (ctx) => {
      namedGroup(sources, ctx);
      return respond(200, countTokens(ctx.body));
    }),
  ];
}
