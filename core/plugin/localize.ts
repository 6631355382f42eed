// Errors in the caller's language: the interface the request path uses, and how an error becomes a localized body.
//
// Like Envoy's local reply mapper, this only rewrites replies the gateway makes itself: upstream error bodies pass
// through as the backend sent them. The implementation (language detection, the message catalogue) lives in
// plugins/localizer; the core only knows this interface, so a gateway without it answers in English.

import type { IncomingHttpHeaders } from 'node:http';
import { createSlot, RequestContext } from './context.ts';
import type { SluiceError } from '../errors.ts';

/** A message and the language it is in (sent as `Content-Language`). */
export interface LocalizedMessage {
  readonly message: string;
  readonly lang: string;
}

/** What the language is chosen from: the request headers and, once parsed, its JSON body. */
export interface LocaleSource {
  readonly headers: IncomingHttpHeaders;
  readonly body: Readonly<Record<string, unknown>> | null;
}

export interface ErrorLocalizer {
  /** The language to answer this caller in (a tag the catalogue has). */
  languageOf(source: LocaleSource): string;
  /**
   * The message for a catalogue code in `lang` (or its nearest fallback) with `values` filled in; null when there is
   * none, or when it would be the catalogue's stock English (the caller's own English text is better).
   */
  format(code: string, lang: string, values: Readonly<Record<string, string | number | null | undefined>>): LocalizedMessage | null;
}

/** English only: the errors' own messages. */
export const ENGLISH_ONLY: ErrorLocalizer = {
  languageOf: () => 'en',
  format: () => null,
};

const LANGUAGE = createSlot<string>('core.language');

/** The caller's language, chosen once per request (detection reads the last user message) and kept on the context. */
function languageOf(localizer: ErrorLocalizer, ctx: RequestContext): string {
  let lang = ctx.get(LANGUAGE);
  if (lang === undefined) {
    lang = localizer.languageOf(ctx);
    ctx.set(LANGUAGE, lang);
  }
  return lang;
}

/**
 * The error's message in `lang`, or the error's own English message when the localizer has none (it returns null
 * for English unless config overrides it: the error's message is more specific than the catalogue's template, and
 * may carry the last upstream error).
 */
function localizeError(localizer: ErrorLocalizer, error: SluiceError, lang: string): LocalizedMessage {
  const retry = error.headers?.['retry-after'];
  const values = {
    ...error.details,
    param: error.param,
    retry_after_s: error.details['retry_after_s'] ?? (retry === undefined || !/^\d+$/.test(retry) ? undefined : Number(retry)),
  };
  return localizer.format(error.code, lang, values) ?? { message: error.message, lang: 'en' };
}

/** Shorthand for the request path: the localized message for an error raised while serving `source`. */
export function localizeFor(localizer: ErrorLocalizer, error: SluiceError, source: LocaleSource | RequestContext): LocalizedMessage {
  const lang = source instanceof RequestContext ? languageOf(localizer, source) : localizer.languageOf(source);
  return localizeError(localizer, error, lang);
}

/**
 * What plugins get as `deps.localize`: a catalogue message in the caller's language, `english` (with lang `en`)
 * when the catalogue has none. Guards use it for the notice that replaces a blocked answer.
 */
export type PluginLocalize = (
  ctx: RequestContext,
  code: string,
  values: Readonly<Record<string, string | number | null | undefined>>,
  english: string,
) => LocalizedMessage;

export function pluginLocalize(localizer: ErrorLocalizer): PluginLocalize {
  return (ctx, code, values, english) => localizer.format(code, languageOf(localizer, ctx), values) ?? { message: english, lang: 'en' };
}

/** For plugin tests and benches that run without a gateway. */
export const englishLocalize: PluginLocalize = pluginLocalize(ENGLISH_ONLY);
