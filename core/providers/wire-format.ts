// The provider seam: what the engine needs to know of one wire family (OpenAI's, and later Ollama's NDJSON and
// Anthropic's Messages). A new family is one file implementing this, listed in providers/index.ts; the stream
// tap splits its streams by `streamFraming`.

import type { Endpoint } from '../config/models.ts';
import type { ErrorClass } from '../config/router-settings.ts';
import type { Usage } from '../plugin/context.ts';

/** Reads a JSON body's usage as the body streams past, without holding the body. */
export interface BodyUsageReader {
  push(chunk: Buffer): void;
  /** The usage of the body seen, or null when it has none. */
  read(): Usage | null;
}

export interface WireFormat {
  readonly id: string;
  /** The POST routes its clients call, by path, and which endpoint each is. */
  readonly routes: ReadonlyMap<string, Endpoint>;
  /** The path under a deployment's base path that serves an endpoint. */
  upstreamPath(endpoint: Endpoint): string;
  /** How a streamed answer is cut into events: SSE (events end at a blank line) or NDJSON (one per line). */
  readonly streamFraming: 'sse' | 'ndjson';
  /** Bytes every stream event carrying usage contains: searched before any JSON is parsed. */
  readonly usageMark: Buffer;
  /** The usage in one stream event's parsed JSON, or null. */
  usageOfEvent(json: unknown): Usage | null;
  /** True for an event that carries only usage (the one the gateway asks for on its own account). */
  isUsageOnlyEvent(json: unknown): boolean;
  /** The usage of a whole parsed JSON answer, or null. */
  usageOfBody(json: unknown): Usage | null;
  /** A reader for the usage of a JSON answer that may be too large to hold. */
  bodyUsageReader(): BodyUsageReader;
  /** Classifies an upstream error status; `body` (when read) refines 400s. */
  classifyStatus(status: number, body: string | null): ErrorClass;
  /** True when an error body says the prompt did not fit the model's context window. */
  isContextWindowError(body: string): boolean;
  /** The prompt's estimated tokens, for decisions made before a backend has counted. */
  estimateRequestTokens(body: Readonly<Record<string, unknown>>): number;
}
