// TLS: the listener's certificate (load, check, reload), the HTTP→HTTPS redirect, HTTP/2 request and response
// classes for the compatibility API, and the TLS settings of upstream https:// backends.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { TLSSocket, SecureContextOptions } from 'node:tls';
import { createSecureContext } from 'node:tls';
import type { TlsSettings } from '../config/load.ts';

// The listener's certificate -----------------------------------------------------------------------------------

/** What the logs say about a certificate. */
export interface CertificateInfo {
  readonly subject: string;
  /** Expiry, ISO 8601. */
  readonly validTo: string;
  /** SHA-256 fingerprint, colon-separated hex (as `openssl x509 -fingerprint -sha256` prints it). */
  readonly fingerprint256: string;
}

/** A problem with one of `server.tls`'s files; `field` is the key that names the file (null: cert and key together). */
export interface TlsProblem {
  readonly field: 'cert' | 'key' | 'ca' | null;
  readonly message: string;
}

export class TlsFilesError extends Error {
  readonly problems: readonly TlsProblem[];
  constructor(problems: readonly TlsProblem[]) {
    super(problems.map((p) => (p.field === null ? p.message : `server.tls.${p.field}: ${p.message}`)).join('; '));
    this.name = 'TlsFilesError';
    this.problems = problems;
  }
}

/** The secure context options for `tls.Server` (creation and `setSecureContext`), and what the certificate is. */
export interface ServerTlsMaterial {
  readonly context: SecureContextOptions;
  readonly certificate: CertificateInfo;
}

/**
 * Reads `server.tls`'s files and checks them: each parses (PEM), and the key matches the certificate. Paths are
 * absolute (the config loader resolved them). Returns every problem at once.
 */
export function inspectServerTls(settings: TlsSettings): { material: ServerTlsMaterial | null; problems: TlsProblem[] } {
  const problems: TlsProblem[] = [];
  const cert = readPem(settings.cert, 'cert', problems);
  const key = readPem(settings.key, 'key', problems);
  const ca = settings.ca === null ? null : readPem(settings.ca, 'ca', problems);
  let certificate: CertificateInfo | null = null;
  if (cert !== null) {
    try {
      certificate = describeCertificate(new X509Certificate(cert));
    } catch (error) {
      problems.push({ field: 'cert', message: `${settings.cert} is not a PEM certificate (${reason(error)})` });
    }
  }
  if (key !== null) {
    try {
      createPrivateKey(key);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push({
        field: 'key',
        message:
          code === 'ERR_MISSING_PASSPHRASE'
            ? `${settings.key} is encrypted; Sluice needs an unencrypted key`
            : `${settings.key} is not a PEM private key (${reason(error)})`,
      });
    }
  }
  if (ca !== null) {
    try {
      new X509Certificate(ca);
    } catch (error) {
      problems.push({ field: 'ca', message: `${settings.ca} is not a PEM certificate bundle (${reason(error)})` });
    }
  }
  if (problems.length > 0 || cert === null || key === null || certificate === null) return { material: null, problems };
  const context: SecureContextOptions = { cert, key, minVersion: settings.minVersion };
  if (ca !== null) context.ca = ca;
  try {
    // The same call the server makes: catches a key that does not belong to the certificate.
    createSecureContext(context);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    problems.push({
      field: null,
      message:
        code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH'
          ? `server.tls: the key ${settings.key} does not belong to the certificate ${settings.cert}`
          : `server.tls: the certificate and key cannot be used (${reason(error)})`,
    });
    return { material: null, problems };
  }
  return { material: { context, certificate }, problems };
}

/** Like `inspectServerTls`, but throws `TlsFilesError` on any problem. */
export function loadServerTls(settings: TlsSettings): ServerTlsMaterial {
  const { material, problems } = inspectServerTls(settings);
  if (material === null) throw new TlsFilesError(problems);
  return material;
}

function readPem(path: string, field: 'cert' | 'key' | 'ca', problems: TlsProblem[]): Buffer | null {
  try {
    return readFileSync(path);
  } catch (error) {
    problems.push({ field, message: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? reason(error)})` });
    return null;
  }
}

function describeCertificate(x509: X509Certificate): CertificateInfo {
  return { subject: x509.subject.replace(/\n/g, ', '), validTo: x509.validToDate.toISOString(), fingerprint256: x509.fingerprint256 };
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // OpenSSL's "error:0480006C:PEM routines::no start line" → "no start line".
  return message.replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/, '');
}

/**
 * With `client_auth: optional` the server asks for a certificate but lets clients without one in. A client that
 * presents one that fails verification is still turned away (as nginx's `ssl_verify_client optional` does).
 */
export function refuseUnverifiedPeer(socket: TLSSocket): void {
  if (socket.authorized) return;
  const peer = socket.getPeerCertificate();
  if (peer !== null && typeof peer === 'object' && Object.keys(peer).length > 0) socket.destroy();
}

// HTTP → HTTPS ----------------------------------------------------------------------------------------------

/** A host name, an IPv4 address or a bracketed IPv6 address, with an optional port. */
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::[0-9]{1,5})?$/;

/**
 * The plain-HTTP listener's request handler: 308 to the same host name (from `Host`), the TLS port, the same path
 * and query. 308 keeps the method and body, so a POST is repeated as a POST. The body itself is not read: when one
 * was sent, the connection closes after the answer.
 */
export function redirectToHttps(tlsPort: number): (req: IncomingMessage, res: ServerResponse) => void {
  const portSuffix = tlsPort === 443 ? '' : `:${tlsPort}`;
  return (req, res) => {
    const hostHeader = req.headers.host;
    const match = hostHeader === undefined ? null : HOST_HEADER.exec(hostHeader);
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    if (match === null) {
      const body = JSON.stringify({
        error: { message: 'Bad Request: a Host header is needed to redirect to HTTPS.', type: 'invalid_request_error', param: null, code: 'malformed_request' },
      });
      res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(hasBody ? { connection: 'close' } : {}) });
      res.end(body);
      return;
    }
    const url = req.url ?? '/';
    // An absolute-form target (`GET http://host/path`) keeps only its path and query.
    let target = url;
    if (!url.startsWith('/')) {
      try {
        const parsed = new URL(url);
        target = parsed.pathname + parsed.search;
      } catch {
        target = '/';
      }
    }
    const headers: OutgoingHttpHeaders = { location: `https://${match[1]!}${portSuffix}${target}`, 'content-length': 0 };
    if (hasBody) headers['connection'] = 'close';
    res.writeHead(308, headers);
    res.end();
  };
}

// HTTP/2 through the compatibility API ----------------------------------------------------------------------

/**
 * The request class for HTTP/2 streams. The gateway forwards `rawHeaders` upstream (minus hop-by-hop ones); over
 * HTTP/2 Node puts the pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`) in that list, and a header
 * name with a colon is not valid in an HTTP/1.1 request to a backend. This class leaves them out of `rawHeaders`
 * (they stay in `headers`, and `method` and `url` still carry them).
 */
export class SluiceHttp2Request extends Http2ServerRequest {}

const baseRawHeaders = Object.getOwnPropertyDescriptor(Http2ServerRequest.prototype, 'rawHeaders')?.get;
Object.defineProperty(SluiceHttp2Request.prototype, 'rawHeaders', {
  configurable: true,
  enumerable: false,
  get(this: Http2ServerRequest): string[] {
    const raw = (baseRawHeaders?.call(this) ?? []) as string[];
    let pseudo = false;
    for (let i = 0; i < raw.length && !pseudo; i += 2) pseudo = raw[i]!.charCodeAt(0) === 58; // ':'
    if (!pseudo) return raw;
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.charCodeAt(0) !== 58) out.push(raw[i]!, raw[i + 1]!);
    return out;
  },
});

/**
 * Connection-specific response headers, forbidden in HTTP/2 (RFC 9113 §8.2.2). Node throws
 * ERR_HTTP2_INVALID_CONNECTION_HEADERS when a response has one (and drops `connection` with a warning).
 */
const H2_FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

function withoutConnectionHeaders(headers: OutgoingHttpHeaders | readonly string[] | undefined): OutgoingHttpHeaders | readonly string[] | undefined {
  if (headers === undefined) return undefined;
  if (Array.isArray(headers)) {
    const list = headers as readonly string[];
    let clean = true;
    for (let i = 0; i < list.length; i += 2) if (H2_FORBIDDEN.has(list[i]!.toLowerCase())) clean = false;
    return clean ? list : list.filter((_, j) => !H2_FORBIDDEN.has(list[j - (j % 2)]!.toLowerCase()));
  }
  const object = headers as OutgoingHttpHeaders;
  let copy: OutgoingHttpHeaders | null = null;
  for (const name in object) {
    if (H2_FORBIDDEN.has(name.toLowerCase())) {
      copy ??= { ...object };
      delete copy[name];
    }
  }
  return copy ?? object;
}

/**
 * The response class for HTTP/2 streams:
 * - `writeHead` drops HTTP/1 connection headers (`connection`, `keep-alive`, `transfer-encoding`...), which a
 *   plugin or a reply may set and which HTTP/2 forbids, instead of throwing;
 * - `destroyed` is true once the stream is gone (Node's HTTP/2 response has no `destroyed`; the HTTP/1 one does);
 * - `writableFinished` is true only for a response that was ended (Node's is also true after a client's reset);
 * - `shouldKeepAlive = false` (set when a request body is refused unread) resets the stream once the answer is
 *   sent, so the client stops uploading, as closing the connection does over HTTP/1.1.
 */
export class SluiceHttp2Response extends Http2ServerResponse {
  override writeHead(statusCode: number, messageOrHeaders?: string | OutgoingHttpHeaders | readonly string[], headers?: OutgoingHttpHeaders | readonly string[]): this {
    if (typeof messageOrHeaders === 'string') return super.writeHead(statusCode, messageOrHeaders, withoutConnectionHeaders(headers));
    return super.writeHead(statusCode, withoutConnectionHeaders(messageOrHeaders));
  }
}

Object.defineProperty(SluiceHttp2Response.prototype, 'destroyed', {
  configurable: true,
  enumerable: false,
  get(this: Http2ServerResponse): boolean {
    const stream = this.stream as Http2ServerResponse['stream'] | undefined;
    return stream === undefined || stream.destroyed;
  },
});

// Node's HTTP/2 response reports its stream's `writableFinished`, which is also true when the client reset the
// stream (a cancelled request). The gateway reads `writableFinished` in 'close' to tell a completed response from a
// client that left; only a response that was ended counts as finished.
const baseWritableFinished = Object.getOwnPropertyDescriptor(Http2ServerResponse.prototype, 'writableFinished')?.get;
Object.defineProperty(SluiceHttp2Response.prototype, 'writableFinished', {
  configurable: true,
  enumerable: false,
  get(this: Http2ServerResponse): boolean {
    return this.writableEnded && baseWritableFinished?.call(this) === true;
  },
});

Object.defineProperty(SluiceHttp2Response.prototype, 'shouldKeepAlive', {
  configurable: true,
  enumerable: false,
  get(): boolean {
    return true;
  },
  set(this: Http2ServerResponse, keep: boolean): void {
    if (keep) return;
    const stream = this.stream as Http2ServerResponse['stream'] | undefined;
    if (stream === undefined) return;
    // RST_STREAM(NO_ERROR) once the whole response is out (the stream's writable side, not the response's
    // 'finish', which waits for the stream to close): RFC 9113 §8.1, the way to stop an unwanted upload.
    const reset = (): void => {
      if (!stream.destroyed && !stream.closed) stream.close(0);
    };
    if (stream.writableFinished) reset();
    else stream.once('finish', reset);
  },
});

// Upstream https:// backends ---------------------------------------------------------------------------------

/** How Sluice connects to one https:// backend. Deployments with equal settings on one origin share a pool. */
export interface UpstreamTls {
  /** CA certificates that replace Node's default trust store for this backend; null keeps the default. */
  readonly ca: readonly Buffer[] | null;
  /** The files they came from (absolute paths). */
  readonly caFiles: readonly string[];
  /** False with `ssl_verify: false`: the backend's certificate is not checked. */
  readonly rejectUnauthorized: boolean;
  /** Origin plus these settings: the key of the connection pool. */
  readonly poolKey: string;
}

/**
 * LiteLLM's `ssl_verify`: `false` turns verification off, a string is a CA bundle. The strings "true" and "false"
 * (as an environment variable gives them) count as booleans.
 */
export function parseSslVerify(value: unknown): boolean | string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  const lower = value.trim().toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  return value;
}

/**
 * The TLS settings of one deployment from `litellm_params.ssl_verify` and `litellm_params.tls_ca` (paths already
 * absolute). Returns null for the defaults (verify against Node's CA store). `errors` and `warnings` name `where`.
 */
export function upstreamTlsFor(
  origin: string,
  params: { readonly ssl_verify?: unknown; readonly tls_ca?: unknown },
  where: string,
  errors: string[],
  warnings: string[],
): UpstreamTls | null {
  const verify = parseSslVerify(params.ssl_verify);
  const tlsCa = typeof params.tls_ca === 'string' ? params.tls_ca : undefined;
  if (verify === undefined && tlsCa === undefined) return null;
  if (!origin.startsWith('https:')) {
    warnings.push(`${where}: litellm_params.ssl_verify and tls_ca apply to https:// backends only; ignored for ${origin}`);
    return null;
  }
  const caFiles: string[] = [];
  if (typeof verify === 'string') caFiles.push(verify);
  if (tlsCa !== undefined && !caFiles.includes(tlsCa)) caFiles.push(tlsCa);
  const ca: Buffer[] = [];
  for (const file of caFiles) {
    const key = file === tlsCa ? 'tls_ca' : 'ssl_verify';
    let pem: Buffer;
    try {
      pem = readFileSync(file);
    } catch (error) {
      errors.push(`${where}: litellm_params.${key}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? reason(error)})`);
      continue;
    }
    try {
      new X509Certificate(pem);
    } catch (error) {
      errors.push(`${where}: litellm_params.${key}: ${file} is not a PEM certificate bundle (${reason(error)})`);
      continue;
    }
    ca.push(pem);
  }
  const rejectUnauthorized = verify !== false;
  if (!rejectUnauthorized) warnings.push(`${where}: ssl_verify: false; the certificate of ${origin} is not verified`);
  if (rejectUnauthorized && caFiles.length === 0) return null;
  return {
    ca: caFiles.length === 0 ? null : ca,
    caFiles,
    rejectUnauthorized,
    poolKey: `${origin} verify=${rejectUnauthorized} ca=${caFiles.join(',')}`,
  };
}

/**
 * undici's `connect` options for a deployment's TLS settings (for a Pool or an Agent): `ca` and
 * `rejectUnauthorized`, or undefined for the defaults. Anything else that connects to backends (health probes,
 * discovery) should use these too, with one Agent per `poolKey`.
 */
export function upstreamConnectOptions(tls: UpstreamTls | null): { ca?: Buffer[]; rejectUnauthorized: boolean } | undefined {
  if (tls === null) return undefined;
  return tls.ca === null ? { rejectUnauthorized: tls.rejectUnauthorized } : { ca: [...tls.ca], rejectUnauthorized: tls.rejectUnauthorized };
}
