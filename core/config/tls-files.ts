// TLS files: the listener's certificate (read, check), and the TLS settings of upstream https:// backends.
//
// Read at config load (so `--check` reports every problem) and again by the listener on reload.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import { createSecureContext } from 'node:tls';

/** `server.tls`, with paths made absolute (relative ones are read from the config file's directory). */
export interface TlsSettings {
  /** PEM certificate, intermediates after it. */
  cert: string;
  /** PEM private key, unencrypted. */
  key: string;
  /** PEM CA bundle for client certificates; null = no client certificates. */
  ca: string | null;
  /** With `ca`: `required` refuses clients without a valid certificate; `optional` lets clients without one in. */
  clientAuth: 'none' | 'optional' | 'required';
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** HTTP/2 by ALPN (HTTP/1.1 for clients that do not offer it). */
  http2: boolean;
}

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
