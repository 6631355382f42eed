// The localizer the gateway runs with: the `localizer:` config section turned into an ErrorLocalizer.
//
//   localizer:
//     enabled: true            # false: every error in English
//     default_language: en     # when neither the text nor Accept-Language decides
//     detect: true             # read the language of the last user message (else Accept-Language only)
//     messages:                # override templates or add languages: { lang: { SLUICE_CODE: template } }
//       fr: { SLUICE_RATE_LIMITED: "Trop de requêtes.[ Réessayez dans {retry_after_s} s.]" }
//
// The choice, in order: the detected language of the last user message when the catalogue has it, then
// Accept-Language, then default_language.

import { ENGLISH_ONLY, lastUserText, type ErrorLocalizer, type LocaleSource } from '../../core/plugin/api.ts';
import { createCatalogue, type Catalogue, type MessageOverrides } from './catalogue.ts';
import { chooseLanguage, createDetector, lookup } from './detect.ts';

export interface LocalizerSection {
  enabled?: boolean;
  default_language?: string;
  detect?: boolean;
  messages?: MessageOverrides;
}

/**
 * Builds the localizer for a config's `localizer:` section (absent = on, with defaults). Rejects listing bad templates.
 * The n-gram model is loaded here, and only when the catalogue has a language that needs it (see createDetector).
 */
export async function createErrorLocalizer(section: LocalizerSection | null | undefined): Promise<ErrorLocalizer> {
  if (section?.enabled === false) return ENGLISH_ONLY;
  const catalogue: Catalogue = createCatalogue(section?.messages);
  const languages = catalogue.languages;
  const fallback = lookup(section?.default_language ?? 'en', languages);
  if (fallback === null) {
    throw new Error(`localizer.default_language: "${section?.default_language}" has no messages; known: ${languages.join(', ')}`);
  }
  const detectLanguage = section?.detect === false ? null : await createDetector(languages);
  const englishOverrides: Readonly<Record<string, string>> = section?.messages?.['en'] ?? {};
  return {
    languageOf(source: LocaleSource): string {
      const accept = source.headers['accept-language'];
      const text = detectLanguage !== null && source.body !== null ? lastUserText(source.body) : '';
      const detected = text === '' || detectLanguage === null ? null : detectLanguage(text);
      return chooseLanguage(detected, typeof accept === 'string' ? accept : undefined, languages, fallback);
    },
    format(code, lang, values) {
      const out = catalogue.format(code, lang, values);
      // Stock English adds nothing to the error's own English message; an English override does.
      return out === null || (out.lang === 'en' && englishOverrides[code] === undefined) ? null : out;
    },
  };
}
