// Error catalogue: every error Sluice itself produces has a stable code, an HTTP status and an OpenAI error type.
//
// The `code` is what clients, logs and (later) the localizer key on; messages are English defaults.

/** OpenAI's `error.type` values that Sluice uses. */
export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'budget_exceeded'
  | 'api_error'
  | 'timeout_error'
  | 'service_unavailable_error';

interface CatalogueEntry {
  readonly status: number;
  readonly type: OpenAIErrorType;
  /** The `error.code` sent to clients (OpenAI-style snake_case). */
  readonly wire: string;
}

export const ERROR_CATALOGUE = {
  SLUICE_INVALID_JSON: { status: 400, type: 'invalid_request_error', wire: 'invalid_json' },
  SLUICE_INVALID_PARAM: { status: 400, type: 'invalid_request_error', wire: 'invalid_value' },
  SLUICE_MISSING_PARAM: { status: 400, type: 'invalid_request_error', wire: 'missing_required_parameter' },
  SLUICE_MODEL_NOT_FOUND: { status: 404, type: 'invalid_request_error', wire: 'model_not_found' },
  SLUICE_ROUTE_NOT_FOUND: { status: 404, type: 'invalid_request_error', wire: 'unknown_url' },
  SLUICE_METHOD_NOT_ALLOWED: { status: 405, type: 'invalid_request_error', wire: 'method_not_allowed' },
  SLUICE_CLIENT_TIMEOUT: { status: 408, type: 'invalid_request_error', wire: 'request_timeout' },
  SLUICE_BODY_TOO_LARGE: { status: 413, type: 'invalid_request_error', wire: 'request_too_large' },
  SLUICE_UNSUPPORTED_MEDIA_TYPE: { status: 415, type: 'invalid_request_error', wire: 'unsupported_media_type' },
  SLUICE_UNSUPPORTED_CONTENT_ENCODING: { status: 415, type: 'invalid_request_error', wire: 'unsupported_content_encoding' },
  SLUICE_UNAUTHORIZED: { status: 401, type: 'authentication_error', wire: 'invalid_api_key' },
  SLUICE_FORBIDDEN: { status: 403, type: 'permission_error', wire: 'model_not_allowed' },
  SLUICE_RATE_LIMITED: { status: 429, type: 'rate_limit_error', wire: 'rate_limit_exceeded' },
  // LiteLLM's key budget error: 400 with type `budget_exceeded`.
  SLUICE_BUDGET_EXCEEDED: { status: 400, type: 'budget_exceeded', wire: 'budget_exceeded' },
  SLUICE_UPSTREAM_UNREACHABLE: { status: 502, type: 'api_error', wire: 'upstream_unreachable' },
  SLUICE_UPSTREAM_RESET: { status: 502, type: 'api_error', wire: 'upstream_connection_reset' },
  SLUICE_UPSTREAM_BAD_RESPONSE: { status: 502, type: 'api_error', wire: 'upstream_bad_response' },
  SLUICE_UPSTREAM_TIMEOUT: { status: 504, type: 'timeout_error', wire: 'upstream_timeout' },
  SLUICE_NO_DEPLOYMENT: { status: 503, type: 'service_unavailable_error', wire: 'no_deployment_available' },
  SLUICE_STATE_UNAVAILABLE: { status: 503, type: 'service_unavailable_error', wire: 'shared_state_unavailable' },
  SLUICE_SHUTTING_DOWN: { status: 503, type: 'service_unavailable_error', wire: 'server_shutting_down' },
  SLUICE_CONTENT_BLOCKED: { status: 400, type: 'invalid_request_error', wire: 'content_filter' },
  SLUICE_CONTENT_TOO_LONG: { status: 400, type: 'invalid_request_error', wire: 'content_filter' },
  SLUICE_OUTPUT_BLOCKED: { status: 400, type: 'invalid_request_error', wire: 'content_filter' },
  SLUICE_GUARD_UNAVAILABLE: { status: 503, type: 'service_unavailable_error', wire: 'guard_unavailable' },
  SLUICE_PLUGIN_FAILED: { status: 500, type: 'api_error', wire: 'plugin_error' },
  SLUICE_INTERNAL: { status: 500, type: 'api_error', wire: 'internal_error' },
} as const satisfies Record<string, CatalogueEntry>;

export type SluiceErrorCode = keyof typeof ERROR_CATALOGUE;

export interface SluiceErrorOptions {
  /** The request field at fault, reported as OpenAI's `error.param`. */
  param?: string | null;
  /** Overrides the catalogue's status (e.g. a plugin answering 429 with a different meaning). */
  status?: number;
  /** Values a localizer fills into its template (model group, retry time...). Never secrets. */
  details?: Readonly<Record<string, string | number>>;
  /** Extra response headers (Retry-After, rate-limit headers). */
  headers?: Readonly<Record<string, string>>;
  cause?: unknown;
}

/**
 * An error with a stable code. Thrown or returned anywhere in the request path; `core/http/reply.ts`
 * turns it into `{"error":{"message","type","param","code"}}` with the right status.
 */
export class SluiceError extends Error {
  readonly code: SluiceErrorCode;
  readonly status: number;
  readonly type: OpenAIErrorType;
  readonly wireCode: string;
  readonly param: string | null;
  readonly details: Readonly<Record<string, string | number>>;
  readonly headers: Readonly<Record<string, string>> | null;

  constructor(code: SluiceErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const entry: CatalogueEntry = ERROR_CATALOGUE[code];
    this.name = 'SluiceError';
    this.code = code;
    this.status = options.status ?? entry.status;
    this.type = entry.type;
    this.wireCode = entry.wire;
    this.param = options.param ?? null;
    this.details = options.details ?? {};
    this.headers = options.headers ?? null;
  }

  /** The OpenAI error body. */
  toJSON(): { error: { message: string; type: string; param: string | null; code: string } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.wireCode } };
  }
}

/** Wraps anything thrown by a plugin or the core into a SluiceError, passing a SluiceError on unchanged. */
export function toSluiceError(value: unknown): SluiceError {
  if (value instanceof SluiceError) return value;
  // Lower layers (the shared store) may throw plain errors that carry a catalogue code.
  const code = (value as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && Object.hasOwn(ERROR_CATALOGUE, code)) {
    return new SluiceError(code as SluiceErrorCode, (value as Error).message, { cause: value });
  }
  return new SluiceError('SLUICE_INTERNAL', 'Internal error in the gateway.', { cause: value });
}
