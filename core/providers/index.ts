// The client APIs the gateway serves and the backends it reaches. A client API (Ollama's native API, Anthropic's
// Messages, OpenAI's Responses) is a file beside openai.ts implementing WireFormat, and an entry here.

import type { IncomingHttpHeaders } from 'node:http';
import { openai } from './openai.ts';
import type { Deployment } from '../config/models.ts';
import type { ClientApi } from '../plugin/context.ts';
import { ANTHROPIC_VERSION, anthropicBackend } from './anthropic.ts';
import type { ForeignBackend, WireFormat } from './wire-format.ts';
import { ollamaWire } from './ollama-api.ts';
import { messagesWire } from './anthropic-messages.ts';
import { responsesWire } from './openai-responses.ts';

export type { WireFormat } from './wire-format.ts';

/** Every client API, in route-table order. */
export const WIRE_FORMATS: readonly WireFormat[] = [openai, ollamaWire, messagesWire, responsesWire];

const BY_API = new Map<ClientApi, WireFormat>(WIRE_FORMATS.map((wire) => [wire.id, wire]));

/** The wire format of a client API (OpenAI's for one not served). */
export function wireOf(api: ClientApi): WireFormat {
  return BY_API.get(api) ?? openai;
}

/** The API a path belongs to, for answers given before a route is known (404, 405): its error shape. */
export function apiOfPath(path: string): ClientApi {
  if (path.startsWith('/api/') && BY_API.has('ollama')) return 'ollama';
  if (path.startsWith('/v1/messages') && BY_API.has('anthropic')) return 'anthropic';
  return 'openai';
}

/** The backend of a deployment that speaks another family than its clients, or null for OpenAI-compatible ones. */
export function foreignBackend(deployment: Deployment): ForeignBackend | null {
  return deployment.kind === 'anthropic' ? anthropicBackend : null;
}

/**
 * Credential headers for a request passed as it came to a deployment serving the client's API natively, or null
 * for the deployment's API key as configured. Anthropic's API takes its key in `x-api-key`, with a version.
 */
export function nativeCredentials(wire: WireFormat, deployment: Deployment, clientHeaders: IncomingHttpHeaders): readonly string[] | null {
  if (wire.id !== 'anthropic' || deployment.kind !== 'anthropic') return null;
  const headers: string[] = [];
  if (clientHeaders['anthropic-version'] === undefined) headers.push('anthropic-version', ANTHROPIC_VERSION);
  if (deployment.apiKey !== null) headers.push('x-api-key', deployment.apiKey);
  return headers;
}
