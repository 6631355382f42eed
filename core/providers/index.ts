// The wire families the gateway serves. A new one (Ollama's native API, Anthropic's Messages) is a file beside
// openai.ts implementing WireFormat, and an entry here.

import { openai } from './openai.ts';
import type { WireFormat } from './wire-format.ts';

export type { WireFormat } from './wire-format.ts';

export const WIRE_FORMATS: readonly WireFormat[] = [openai];
