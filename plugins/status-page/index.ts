// status_page: a live status page at `GET /ui` for the operator. Every deployment with its health, cooldown,
// requests in flight, latency and requests and errors per minute; every key with its usage, spend and limits; the
// latest errors; the running config with its credentials masked. Plain HTML, CSS and a little JavaScript, served
// from assets/ with no build step; the page polls `GET /ui/api/status`.
//
// - Routes: the page, its assets, the sign-in form's POST, sign-out and the JSON. They check the master key
//   themselves (`auth: false`), since a browser sends a session cookie, not an Authorization header.
// - log: counts each finished proxied request (activity.ts). Nothing else runs per request.
//
// What it counts and its sessions belong to the App (one per RouterState, as the metrics registry does), so a
// config reload neither restarts the counts nor signs anyone out.

import { readFileSync } from 'node:fs';
import { definePlugin, respond, SluiceError, type Plugin, type Reply, type RequestContext, type RouterState } from '../../core/plugin/api.ts';
import { bearerKey, crossSite, MasterKey, overHttps, sessionCookie, Sessions, sessionToken } from './access.ts';
import { Activity } from './activity.ts';
import { buildStatus, type KeyEntry } from './snapshot.ts';

export interface StatusPageOptions {
  /** Seconds between two refreshes of an open page. Default 3. */
  refresh_seconds?: number;
  /** Hours a sign-in lasts. Default 8. */
  session_hours?: number;
  /** How many of the latest errors the page lists. Default 50. */
  recent_errors?: number;
  /** Overrides `general_settings.master_key`, as the same option of `auth.api_key` does. */
  master_key?: string;
}

/** Where the page lives: LiteLLM's admin UI path. */
export const UI_PATH = '/ui';

const asset = (name: string): string => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
const PAGE_HTML = asset('page.html');
const LOGIN_HTML = asset('login.html');
const APP_JS = asset('app.js');
const STYLE_CSS = asset('style.css');
const FAVICON_SVG = asset('favicon.svg');

/**
 * Everything the page loads comes from Sluice itself: no inline script or style, no other origin, no frames.
 * `form-action 'self'` keeps the sign-in form posting here.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // Not no-referrer: with it, browsers send `Origin: null` on the sign-in POST, which the cross-site check refuses.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** The sign-in form, with an error line when `error` is set. 401: the page is there, but not for this caller. */
function loginPage(error: string | null, extra: Readonly<Record<string, string>> = {}, status = 401): Reply {
  const line = error === null ? '' : `<p class="error" role="alert" id="login-error">${escapeHtml(error)}</p>`;
  return respond(status, LOGIN_HTML.replace('<!--error-->', line), { ...PAGE_HEADERS, 'www-authenticate': 'Bearer realm="sluice status page"', ...extra });
}

/**
 * Wrong keys a client address may try at the sign-in form in LOGIN_FAILURE_WINDOW_MS before the form refuses it
 * (429). Counted in the shared store, so every worker and replica sees the same count; the form is not behind the
 * request phases, so limit.client does not cover it.
 */
export const LOGIN_FAILURES_MAX = 10;
const LOGIN_FAILURE_WINDOW_MS = 5 * 60_000;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A 303 to the page: after a form POST, the browser loads the page with a GET. */
function backToPage(headers: Readonly<Record<string, string>>): Reply {
  return respond(303, '', { location: UI_PATH, 'cache-control': 'no-store', ...headers });
}

interface PerApp {
  readonly activity: Activity;
  readonly sessions: Sessions;
}

const perApp = new WeakMap<RouterState, PerApp>();

/**
 * On by default when the config has a master key and no `plugins:` section (plugins/standard.ts), as LiteLLM's
 * `/ui` is; with a `plugins:` list, add it by name.
 *
 * ```yaml
 * general_settings:
 *   master_key: os.environ/SLUICE_MASTER_KEY
 * plugins:
 *   - auth.api_key
 *   - route.least_busy
 *   - health.active
 *   - name: status_page
 *     options: { refresh_seconds: 3, session_hours: 8, recent_errors: 50 }
 * ```
 */
export default definePlugin<StatusPageOptions>({
  id: 'status_page',
  description: 'A live status page at /ui for the master key: deployments, keys, recent errors, the redacted config.',
  sections: ['general_settings', 'keys', 'server'],
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      refresh_seconds: { type: 'number', minimum: 0.5, maximum: 300 },
      session_hours: { type: 'number', exclusiveMinimum: 0, maximum: 720 },
      recent_errors: { type: 'integer', minimum: 1, maximum: 1000 },
      master_key: { type: 'string', minLength: 8 },
    },
  },
  create(options, deps): Plugin {
    const general = (deps.sections['general_settings'] ?? {}) as { master_key?: unknown };
    const key = options.master_key ?? (typeof general.master_key === 'string' ? general.master_key : null);
    if (key === null || key === '') {
      throw new Error('status_page needs a master key to sign in with: set general_settings.master_key (or the master_key option)');
    }
    const master = new MasterKey(key);
    const refreshMs = Math.round((options.refresh_seconds ?? 3) * 1000);
    const sessionMs = Math.round((options.session_hours ?? 8) * 3_600_000);
    const keys = (deps.sections['keys'] ?? []) as KeyEntry[];
    const tlsListener = (deps.sections['server'] as { tls?: unknown } | undefined)?.tls != null;

    let shared = perApp.get(deps.state);
    if (shared === undefined) {
      shared = { activity: new Activity(Date.now(), options.recent_errors ?? 50), sessions: new Sessions() };
      perApp.set(deps.state, shared);
    }
    const { activity, sessions } = shared;

    /** The master key as a Bearer header, or a live session cookie. */
    function signedIn(ctx: RequestContext): boolean {
      const presented = bearerKey(ctx);
      if (presented !== null) return master.matches(presented);
      const token = sessionToken(ctx);
      return token !== null && sessions.valid(token, master, Date.now());
    }

    const staticAsset = (path: string, body: string, type: string) => ({
      method: 'GET' as const,
      path,
      auth: false,
      // Code, style and the icon, the same for everyone: nothing in them needs a key.
      handle: () => respond(200, body, { 'content-type': type, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' }),
    });

    return {
      routes: [
        {
          method: 'GET',
          path: UI_PATH,
          auth: false,
          handle: (ctx) => (signedIn(ctx) ? respond(200, PAGE_HTML, PAGE_HEADERS) : loginPage(null)),
        },
        // LiteLLM's UI lives at /ui/: old bookmarks land on the page.
        { method: 'GET', path: `${UI_PATH}/`, auth: false, handle: () => respond(308, '', { location: UI_PATH }) },
        {
          method: 'POST',
          path: `${UI_PATH}/login`,
          auth: false,
          body: 'raw',
          handle: async (ctx) => {
            if (crossSite(ctx)) return loginPage('Sign in from this page, not from another site.');
            const presented = new URLSearchParams(ctx.rawBody.toString('utf8')).get('key') ?? '';
            if (presented === '') return loginPage('Enter the master key.');
            const failures = `ui-login-failures:${ctx.clientAddress}`;
            const now = Date.now();
            // Cost 0 only asks: room while the failures so far stay under the limit.
            const room = await deps.store.windowCheck(failures, LOGIN_FAILURES_MAX - 1, LOGIN_FAILURE_WINDOW_MS, 0, now);
            if (!room.allowed) {
              return loginPage('Too many wrong keys from this address. Try again later.', { 'retry-after': String(Math.ceil(room.retryAfterMs / 1000)) }, 429);
            }
            if (!master.matches(presented)) {
              await deps.store.windowAdd(failures, LOGIN_FAILURE_WINDOW_MS, 1, now);
              return loginPage('That is not the master key.');
            }
            const token = sessions.open(master, sessionMs, Date.now());
            return backToPage({ 'set-cookie': sessionCookie(token, Math.floor(sessionMs / 1000), overHttps(ctx, tlsListener), UI_PATH) });
          },
        },
        {
          method: 'POST',
          path: `${UI_PATH}/logout`,
          auth: false,
          body: 'raw',
          handle: (ctx) => {
            if (crossSite(ctx)) return loginPage('Sign out from this page, not from another site.');
            const token = sessionToken(ctx);
            if (token !== null) sessions.close(token);
            return backToPage({ 'set-cookie': sessionCookie('', 0, overHttps(ctx, tlsListener), UI_PATH) });
          },
        },
        {
          method: 'GET',
          path: `${UI_PATH}/api/status`,
          auth: false,
          handle: (ctx) => {
            if (!signedIn(ctx)) throw new SluiceError('SLUICE_UNAUTHORIZED', `${UI_PATH}/api/status needs the master key: sign in at ${UI_PATH} or send it as "Authorization: Bearer <key>".`);
            const status = buildStatus({ groups: deps.groups, state: deps.state, activity, keys, config: deps.config, refreshMs }, Date.now());
            return respond(200, status, { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
          },
        },
        staticAsset(`${UI_PATH}/app.js`, APP_JS, 'text/javascript; charset=utf-8'),
        staticAsset(`${UI_PATH}/style.css`, STYLE_CSS, 'text/css; charset=utf-8'),
        staticAsset(`${UI_PATH}/favicon.svg`, FAVICON_SVG, 'image/svg+xml'),
      ],

      log(ctx) {
        // The gateway's own routes (this page's included) are not traffic to a model.
        if (ctx.endpoint === 'info') return;
        activity.record(ctx, Date.now());
      },
    };
  },
});
