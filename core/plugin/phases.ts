// The request's phases, listed once, in the order a request lives through them.
//
//   read body ─► onRequest ─► authenticate ─► (model group) ─► admit ─► route ─► guardRequest ─► upstreamRequest
//        ─► upstream ─► onResponseHeaders ─► onResponseEvent* (streams) | onResponseBody (JSON) ─► onResponseEnd ─► log
//   any failure ─► onError ─► log          client gone ─► onAbort ─► log
//
// A plugin takes part in a phase by defining the method of that name; the chain keeps, per phase, only the
// plugins that do, and a phase nobody defines is `null` so the request loop never visits it.
//
// This list is the only one: `Chain` builds its hook arrays from `PHASES`, and the pipeline runs the request phases
// in `REQUEST_PHASES` order. A new phase is an entry here and its method on `Plugin` (core/plugin/api.ts).

/** Phases that run before the upstream call, in order. Each may answer the request itself. */
export const REQUEST_PHASES = [
  'onRequest',
  'authenticate',
  'admit',
  'route',
  'guardRequest',
  'upstreamRequest',
] as const;

/** Phases that follow the upstream response, in order. */
export const RESPONSE_PHASES = ['onResponseHeaders', 'onResponseEvent', 'onResponseBody', 'onResponseEnd'] as const;

/** Phases that close a request: exactly one of `onResponseEnd`, `onError` or `onAbort` runs, then `log`. */
export const FINAL_PHASES = ['onError', 'onAbort', 'log'] as const;

export const PHASES = [...REQUEST_PHASES, ...RESPONSE_PHASES, ...FINAL_PHASES] as const;

export type RequestPhase = (typeof REQUEST_PHASES)[number];
export type Phase = (typeof PHASES)[number];
