// The wire families the gateway serves. A new one (Ollama's native API, Anthropic's Messages) is a file beside
// openai.ts implementing WireFormat, and an entry here.

import { openai } from './openai.ts';
import type { Deployment } from '../config/models.ts';
import { anthropicBackend } from './anthropic.ts';
import type { ForeignBackend, WireFormat } from './wire-format.ts';

export type { WireFormat } from './wire-format.ts';

export const WIRE_FORMATS: readonly WireFormat[] = [openai];

/** The backend of a deployment that speaks another family than its clients, or null for OpenAI-compatible ones. */
export function foreignBackend(deployment: Deployment): ForeignBackend | null {
  return deployment.kind === 'anthropic' ? anthropicBackend : null;
}
