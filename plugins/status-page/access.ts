// Who may see the status page: the master key, presented as `Authorization: Bearer <key>` or once through the login
// form, which trades it for a session cookie. The cookie holds a random token, never the key; the server keeps only
// the token's sha256, so a memory dump of the session table opens no session.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RequestContext } from '../../core/plugin/api.ts';

export const SESSION_COOKIE = 'sluice_ui';
/** Sessions kept at most; past it, expired ones go first, then the oldest. */
const MAX_SESSIONS = 1000;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The master key, as its digest. Comparing digests of equal length in constant time says nothing about the key. */
export class MasterKey {
  readonly #digest: Buffer;
  /** Ties a session to this key: after a reload with another master key, older sessions no longer open the page. */
  readonly fingerprint: string;

  constructor(key: string) {
    this.#digest = sha256(key);
    this.fingerprint = createHash('sha256').update('sluice-ui-session:').update(this.#digest).digest('hex');
  }

  matches(presented: string): boolean {
    return timingSafeEqual(sha256(presented), this.#digest);
  }
}

interface Session {
  readonly expiresAt: number;
  readonly master: string;
}

/** Login sessions, by the sha256 of their token. One table per App, so a config reload keeps people logged in. */
export class Sessions {
  readonly #byDigest = new Map<string, Session>();

  /** Starts a session for `master`; returns the token for the cookie. */
  open(master: MasterKey, ttlMs: number, now: number): string {
    if (this.#byDigest.size >= MAX_SESSIONS) this.#evict(now);
    const token = randomBytes(32).toString('base64url');
    this.#byDigest.set(sha256(token).toString('hex'), { expiresAt: now + ttlMs, master: master.fingerprint });
    return token;
  }

  /** True while the token's session lasts and was opened with this master key. */
  valid(token: string, master: MasterKey, now: number): boolean {
    const digest = sha256(token).toString('hex');
    const session = this.#byDigest.get(digest);
    if (session === undefined) return false;
    if (session.expiresAt <= now || session.master !== master.fingerprint) {
      this.#byDigest.delete(digest);
      return false;
    }
    return true;
  }

  close(token: string): void {
    this.#byDigest.delete(sha256(token).toString('hex'));
  }

  get size(): number {
    return this.#byDigest.size;
  }

  #evict(now: number): void {
    for (const [digest, session] of this.#byDigest) if (session.expiresAt <= now) this.#byDigest.delete(digest);
    // Maps iterate in insertion order: the first entries are the oldest sessions.
    for (const digest of this.#byDigest.keys()) {
      if (this.#byDigest.size < MAX_SESSIONS) break;
      this.#byDigest.delete(digest);
    }
  }
}

/** The key in `Authorization: Bearer <key>`, or null. */
export function bearerKey(ctx: RequestContext): string | null {
  const value = ctx.headers['authorization'];
  if (typeof value !== 'string') return null;
  const match = /^Bearer\s+(\S.*)$/i.exec(value.trim());
  return match === null ? null : match[1]!;
}

/** The session token in the request's cookies, or null. */
export function sessionToken(ctx: RequestContext): string | null {
  const header = ctx.headers['cookie'];
  if (typeof header !== 'string') return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return value === '' ? null : value;
    }
  }
  return null;
}

/**
 * The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), scoped to
 * the page's paths, and Secure when the page is served over HTTPS. `maxAgeS` 0 deletes it.
 */
export function sessionCookie(token: string, maxAgeS: number, secure: boolean, path: string): string {
  return `${SESSION_COOKIE}=${token}; Path=${path}; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/**
 * A form POST from another site's page. Browsers say so in `Sec-Fetch-Site`; one that does not send it is judged by
 * `Origin` (another host, or `null`, is refused). A request with neither (curl) is not refused for it.
 */
export function crossSite(ctx: RequestContext): boolean {
  const site = ctx.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = ctx.headers['origin'];
  if (typeof origin !== 'string') return false;
  try {
    return new URL(origin).host !== ctx.headers['host'];
  } catch {
    return true;
  }
}

/** The page is served over HTTPS: Sluice's own TLS, or a TLS-terminating proxy in front that says so. */
export function overHttps(ctx: RequestContext, tlsListener: boolean): boolean {
  return tlsListener || ctx.headers['x-forwarded-proto'] === 'https';
}
