// Multipart uploads (`/v1/audio/transcriptions`, `/v1/audio/translations`): the form is spooled as it arrives,
// files to a temporary directory and text fields to memory, so an upload is never held whole in memory and can be
// sent again to another deployment on a retry. busboy parses the parts.

import type Busboy from 'busboy';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { SluiceError } from '../errors.ts';
import { declaresMoreThan, tooLarge } from './body.ts';
import type { Endpoint } from '../config/models.ts';
import { createSlot, type RequestContext } from '../plugin/context.ts';

/** The routes whose bodies are multipart forms. */
export const FORM_ENDPOINTS: ReadonlySet<Endpoint> = new Set<Endpoint>(['transcriptions', 'translations']);

/** A request's spooled form, for the upstream request builder. */
export const SPOOLED_FORM = createSlot<SpooledForm>('core.spooled_form');

export function formOf(ctx: RequestContext): SpooledForm | undefined {
  return ctx.get(SPOOLED_FORM);
}

/** Largest text field kept (a prompt, a language code): a form's text is small; files go to disk. */
const FIELD_LIMIT = 64 * 1024;
const MAX_PARTS = 100;

interface FieldPart {
  readonly kind: 'field';
  readonly name: string;
}

interface FilePart {
  readonly kind: 'file';
  readonly name: string;
  readonly filename: string;
  readonly contentType: string;
  readonly path: string;
  size: number;
}

type FormPart = FieldPart | FilePart;

/** An encoded form ready to send: its length is known, so the upstream gets a Content-Length. */
export interface EncodedForm {
  readonly contentType: string;
  readonly length: number;
  /** A new stream on each call: every attempt (retries, fallbacks) reads the spool again. */
  stream(): Readable;
}

export class SpooledForm {
  /** Text fields by name (the first of each), as plugins see them in `ctx.body`. */
  readonly fields: Record<string, string>;
  readonly #parts: readonly FormPart[];
  readonly #dir: string;

  constructor(fields: Record<string, string>, parts: readonly FormPart[], dir: string) {
    this.fields = fields;
    this.#parts = parts;
    this.#dir = dir;
  }

  /**
   * The form with its text fields taken from `values` (ctx.body: the model for the deployment, a plugin's edits),
   * files from the spool, in the client's part order, under a boundary of the gateway's.
   */
  encode(values: Readonly<Record<string, unknown>>): EncodedForm {
    const boundary = `----sluice${randomBytes(12).toString('hex')}`;
    const pieces: (Buffer | FilePart)[] = [];
    const seen = new Set<string>();
    for (const part of this.#parts) {
      if (part.kind === 'file') {
        pieces.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${quote(part.name)}"; filename="${quote(part.filename)}"\r\ncontent-type: ${part.contentType}\r\n\r\n`), part, Buffer.from('\r\n'));
        continue;
      }
      if (seen.has(part.name)) continue;
      seen.add(part.name);
      const value = values[part.name];
      if (value === undefined || value === null) continue;
      pieces.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${quote(part.name)}"\r\n\r\n${typeof value === 'string' ? value : JSON.stringify(value)}\r\n`));
    }
    // Fields a plugin added (or the gateway set) that the client did not send.
    for (const [name, value] of Object.entries(values)) {
      if (seen.has(name) || value === undefined || value === null || this.#parts.some((p) => p.kind === 'file' && p.name === name)) continue;
      pieces.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${quote(name)}"\r\n\r\n${typeof value === 'string' ? value : JSON.stringify(value)}\r\n`));
    }
    pieces.push(Buffer.from(`--${boundary}--\r\n`));
    const length = pieces.reduce((n, piece) => n + (Buffer.isBuffer(piece) ? piece.length : piece.size), 0);
    return {
      contentType: `multipart/form-data; boundary=${boundary}`,
      length,
      stream: () =>
        Readable.from(
          (async function* () {
            for (const piece of pieces) {
              if (Buffer.isBuffer(piece)) yield piece;
              else for await (const chunk of createReadStream(piece.path)) yield chunk as Buffer;
            }
          })(),
          { objectMode: false },
        ),
    };
  }

  /** Whether the client sent a file under `name`. */
  hasFile(name: string): boolean {
    return this.#parts.some((part) => part.kind === 'file' && part.name === name);
  }

  /** Removes the spooled files; called once the request is over. */
  dispose(): void {
    rm(this.#dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function quote(value: string): string {
  return value.replace(/["\r\n\\]/g, (c) => encodeURIComponent(c));
}

/**
 * Reads a multipart/form-data request into a SpooledForm: at most `limit` bytes in all, within `timeoutMs`.
 * Refuses a body that is not a form (415), too large (413), late (408) or malformed (400).
 */
export async function spoolForm(req: IncomingMessage, limit: number, timeoutMs: number): Promise<SpooledForm> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(type)) {
    req.resume();
    throw new SluiceError('SLUICE_UNSUPPORTED_MEDIA_TYPE', `This route takes multipart/form-data (an audio file and its fields), not '${type || 'no content type'}'.`);
  }
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    throw new SluiceError('SLUICE_UNSUPPORTED_CONTENT_ENCODING', `The Content-Encoding of the request body '${encoding}' is not supported for uploads; send it uncompressed.`, {
      details: { encoding },
    });
  }
  if (declaresMoreThan(req.headers, limit)) throw tooLarge(limit);
  // busboy is loaded by the first form upload, not by every gateway.
  const { default: createFormParser } = await import('busboy');
  const dir = await mkdtemp(join(tmpdir(), 'sluice-form-'));
  const fields: Record<string, string> = {};
  const parts: FormPart[] = [];
  const writes: Promise<void>[] = [];
  const open: WriteStream[] = [];
  return new Promise<SpooledForm>((resolve, reject) => {
    let settled = false;
    let received = 0;
    let parser: Busboy.Busboy;
    const fail = (error: SluiceError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.unpipe(parser);
      req.pause();
      for (const file of open) file.destroy();
      rm(dir, { recursive: true, force: true }).catch(() => undefined);
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new SluiceError('SLUICE_CLIENT_TIMEOUT', `The request body was not received within ${timeoutMs / 1000} s.`, { details: { timeout_s: timeoutMs / 1000 } })),
      timeoutMs > 0 ? timeoutMs : 2 ** 31 - 1,
    );
    try {
      parser = createFormParser({ headers: req.headers, limits: { fieldSize: FIELD_LIMIT, parts: MAX_PARTS, fileSize: limit }, defParamCharset: 'utf8' });
    } catch (error) {
      clearTimeout(timer);
      rm(dir, { recursive: true, force: true }).catch(() => undefined);
      reject(new SluiceError('SLUICE_INVALID_PARAM', `The multipart form could not be read: ${(error as Error).message}.`, { cause: error }));
      return;
    }
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(new SluiceError('SLUICE_INVALID_PARAM', `The form field '${name}' is longer than ${FIELD_LIMIT} bytes.`, { param: name }));
      if (!(name in fields)) fields[name] = value;
      parts.push({ kind: 'field', name });
    });
    parser.on('file', (name, stream, info) => {
      const part: FilePart = { kind: 'file', name, filename: info.filename ?? name, contentType: info.mimeType || 'application/octet-stream', path: join(dir, String(parts.length)), size: 0 };
      parts.push(part);
      const file = createWriteStream(part.path);
      open.push(file);
      stream.on('data', (chunk: Buffer) => {
        part.size += chunk.length;
      });
      writes.push(
        new Promise<void>((done, failed) => {
          file.on('finish', done);
          file.on('error', failed);
          stream.on('error', failed);
        }),
      );
      stream.pipe(file);
    });
    parser.on('partsLimit', () => fail(new SluiceError('SLUICE_INVALID_PARAM', `The form has more than ${MAX_PARTS} parts.`)));
    parser.on('error', (error: Error) => fail(new SluiceError('SLUICE_INVALID_PARAM', `The multipart form could not be read: ${error.message}.`, { cause: error })));
    parser.on('close', () => {
      if (settled) return;
      Promise.all(writes).then(
        () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(new SpooledForm(fields, parts, dir));
        },
        (error: Error) => fail(new SluiceError('SLUICE_INTERNAL', `The upload could not be spooled: ${error.message}.`, { cause: error })),
      );
    });
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) fail(tooLarge(limit));
    });
    req.on('aborted', () => fail(new SluiceError('SLUICE_INVALID_PARAM', 'The request body could not be read.')));
    req.pipe(parser);
  });
}
