// A backend's error body on its way to the client: decoded and scrubbed of the deployment's own secrets, since a
// backend may echo the credentials it was sent (an `Authorization` header quoted in a 401).

import zlib from 'node:zlib';
import { headerList } from '../http/headers.ts';

/** Largest upstream error body read: to decide on a retry or fallback, or to mask secrets. */
export const ERROR_BODY_LIMIT = 64 * 1024;

const MASK = Buffer.from('***');

/** `body` with every occurrence of each secret (longest first) replaced by `***`; the same buffer when none occurs. */
export function maskSecrets(body: Buffer, secrets: readonly string[]): Buffer {
  for (const secret of secrets) {
    const needle = Buffer.from(secret);
    let at = body.indexOf(needle);
    if (at === -1) continue;
    const parts: Buffer[] = [];
    let from = 0;
    for (; at !== -1; at = body.indexOf(needle, from)) {
      parts.push(body.subarray(from, at), MASK);
      from = at + needle.length;
    }
    parts.push(body.subarray(from));
    body = Buffer.concat(parts);
  }
  return body;
}

/**
 * An error body as plain bytes, so secrets in it can be found: gzip, deflate and br are decoded (to at most
 * ERROR_BODY_LIMIT bytes, from a body that may itself be cut). A body in any other coding, or one that does not
 * decode, is dropped rather than passed on unchecked.
 */
export function decodeErrorBody(body: Buffer, encoding: string | string[] | undefined): Buffer {
  if (encoding === undefined) return body;
  const codings = headerList(encoding);
  const options = { maxOutputLength: ERROR_BODY_LIMIT, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  try {
    for (const coding of codings.reverse()) {
      if (coding === 'identity') continue;
      if (coding === 'gzip' || coding === 'x-gzip') body = zlib.gunzipSync(body, options);
      else if (coding === 'deflate') body = zlib.inflateSync(body, options);
      else if (coding === 'br') body = zlib.brotliDecompressSync(body, { maxOutputLength: ERROR_BODY_LIMIT, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
      else return Buffer.alloc(0);
    }
  } catch {
    return Buffer.alloc(0);
  }
  return body;
}
