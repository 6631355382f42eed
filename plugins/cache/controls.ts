// LiteLLM's per-request cache controls: a `cache` object in the request body.
//
//   no-cache   skip the lookup (the answer is still stored)      no-store   do not store this answer
//   ttl        seconds to keep this answer                        s-maxage   accept only entries this young (seconds)
//   namespace  keep this entry apart from the others              use-cache  opt in when the cache is `default_off`

import { SluiceError } from '../../core/plugin/api.ts';

export interface CacheControls {
  readonly noCache: boolean;
  readonly noStore: boolean;
  /** Seconds; null: the configured ttl. */
  readonly ttl: number | null;
  /** Seconds; null: any age. */
  readonly sMaxAge: number | null;
  /** null: the configured namespace. */
  readonly namespace: string | null;
  /** null: the client did not say. */
  readonly useCache: boolean | null;
}

export const NO_CONTROLS: CacheControls = { noCache: false, noStore: false, ttl: null, sMaxAge: null, namespace: null, useCache: null };

/** Reads `body.cache`; a value of the wrong type is a 400 naming the parameter (`cache.ttl`, ...). */
export function parseControls(value: unknown): CacheControls {
  if (value === undefined || value === null) return NO_CONTROLS;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('cache', 'must be an object of cache controls, e.g. {"no-cache": true}');
  }
  const record = value as Record<string, unknown>;
  return {
    noCache: flag(record, 'no-cache') ?? false,
    noStore: flag(record, 'no-store') ?? false,
    ttl: seconds(record, 'ttl', false),
    sMaxAge: seconds(record, 's-maxage', true),
    namespace: namespace(record['namespace']),
    useCache: flag(record, 'use-cache'),
  };
}

function flag(record: Record<string, unknown>, name: string): boolean | null {
  const value = record[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'boolean') throw invalid(`cache.${name}`, 'must be true or false');
  return value;
}

function seconds(record: Record<string, unknown>, name: string, zeroAllowed: boolean): number | null {
  const value = record[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
    throw invalid(`cache.${name}`, `must be a ${zeroAllowed ? 'non-negative' : 'positive'} number of seconds`);
  }
  return value;
}

function namespace(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) throw invalid('cache.namespace', 'must be a non-empty string (at most 256 characters)');
  return value;
}

function invalid(param: string, what: string): SluiceError {
  return new SluiceError('SLUICE_INVALID_PARAM', `Invalid cache control: '${param}' ${what}.`, { param });
}
