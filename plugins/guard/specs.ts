// What each built-in scanner needs to become a plugin: its options (JSON Schema), how to build it, which actions it
// supports, which messages it reads by default, and how it reads a stream.

import type { JsonSchema, MessageSelection } from '../../core/plugin/api.ts';
import type { ToxicCategory } from './lexicons/toxicity.ts';
import { createBanSubstringsScanner } from './scanners/ban-substrings.ts';
import { createMaliciousUrlsScanner } from './scanners/malicious-urls.ts';
import { createNoCodeScanner, NO_CODE_LANGUAGES } from './scanners/no-code.ts';
import { createNoRefusalScanner } from './scanners/no-refusal.ts';
import { createPromptInjectionScanner } from './scanners/prompt-injection.ts';
import { createSecretsScanner } from './scanners/secrets.ts';
import { createTokenLimitScanner } from './scanners/token-limit.ts';
import { createToxicityScanner } from './scanners/toxicity.ts';
import type { Scanner } from './types.ts';

export type Direction = 'input' | 'output';
/** `monitor` (requests): let it through, record the verdict, and log a line for each request it would block. */
export type GuardAction = 'block' | 'redact' | 'log' | 'monitor';

/** The scanner-specific options, as written in config (snake_case). */
export type ScannerOptions = Readonly<Record<string, unknown>>;

export interface ScannerSpec {
  readonly name: string;
  /** What the scanner looks for, for the plugin's description. */
  readonly about: string;
  /** `redact` replaces the matched spans instead of blocking (requests only). */
  readonly redacts: boolean;
  /** Default for `messages` on requests. */
  readonly messages: MessageSelection;
  /** Scan the selected messages as one text (a total, like a token count) rather than one by one. */
  readonly joined: boolean;
  /**
   * How a stream is read: `window` scans the newest text with the end of what came before (matches are local);
   * `prefix` scans the opening of the answer only, where refusals are.
   */
  readonly stream: 'window' | 'prefix';
  /** JSON Schema properties of the scanner's own options, and which of them are required. */
  readonly properties: Readonly<Record<string, JsonSchema>>;
  readonly required: readonly string[];
  create(options: ScannerOptions, threshold: number | undefined): Scanner;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);

const STRING_LIST: JsonSchema = { type: 'array', items: { type: 'string', minLength: 1 } };

const banSubstrings: ScannerSpec = {
  name: 'ban_substrings',
  about: 'words or phrases from a list (normalised: case, width, spacing and leetspeak tricks do not hide them)',
  redacts: true,
  messages: 'user',
  joined: false,
  stream: 'window',
  properties: {
    substrings: { ...STRING_LIST, minItems: 1 },
    match: { enum: ['substring', 'word'] },
    case_sensitive: { type: 'boolean' },
  },
  required: ['substrings'],
  create: (o, threshold) =>
    createBanSubstringsScanner({
      substrings: strings(o['substrings']) ?? [],
      ...(o['match'] === 'word' || o['match'] === 'substring' ? { match: o['match'] } : {}),
      ...(typeof o['case_sensitive'] === 'boolean' ? { case_sensitive: o['case_sensitive'] } : {}),
      ...(threshold === undefined ? {} : { threshold }),
    }),
};

const toxicity: ScannerSpec = {
  name: 'toxicity',
  about: 'insults, slurs, threats and profanity aimed at someone, in en, zh, vi, ja, ko, ru and ar',
  redacts: false,
  messages: 'last_user',
  joined: false,
  stream: 'window',
  properties: { categories: { type: 'array', items: { enum: ['profanity', 'insult', 'slur', 'threat', 'sexual'] }, minItems: 1 } },
  required: [],
  create: (o, threshold) =>
    createToxicityScanner({
      ...(threshold === undefined ? {} : { threshold }),
      ...(Array.isArray(o['categories']) ? { categories: o['categories'] as ToxicCategory[] } : {}),
    }),
};

export const INPUT_SCANNERS: Readonly<Record<string, ScannerSpec>> = {
  ban_substrings: banSubstrings,
  prompt_injection: {
    name: 'prompt_injection',
    about: 'attempts to override the system prompt, jailbreaks and fake chat-template markup',
    redacts: false,
    messages: 'last_user',
    joined: false,
    stream: 'window',
    properties: { engine: { enum: ['model', 'rules'] } },
    required: [],
    // The model's weights are read here, when a prompt_injection guard is configured, and never otherwise.
    create: (o, threshold) =>
      createPromptInjectionScanner({
        ...(threshold === undefined ? {} : { threshold }),
        ...(o['engine'] === 'model' || o['engine'] === 'rules' ? { engine: o['engine'] } : {}),
      }),
  },
  toxicity,
  secrets: {
    name: 'secrets',
    about: 'API keys, tokens, private keys and credentials in URLs (rules in secrets-rules.json)',
    redacts: true,
    messages: 'all',
    joined: false,
    stream: 'window',
    properties: { rules: STRING_LIST },
    required: [],
    create: (o, threshold) =>
      createSecretsScanner({ ...(threshold === undefined ? {} : { threshold }), ...(strings(o['rules']) === undefined ? {} : { rules: strings(o['rules'])! }) }),
  },
  token_limit: {
    name: 'token_limit',
    about: 'prompts longer than a token limit (a real tokenizer, counted only near the limit)',
    redacts: false,
    messages: 'all',
    joined: true,
    stream: 'window',
    properties: { limit: { type: 'integer', minimum: 1 }, encoding: { enum: ['o200k_base', 'cl100k_base'] } },
    required: ['limit'],
    create: (o) => {
      const encoding = str(o['encoding']);
      return createTokenLimitScanner({
        limit: o['limit'] as number,
        ...(encoding === 'o200k_base' || encoding === 'cl100k_base' ? { encoding } : {}),
      });
    },
  },
};

export const OUTPUT_SCANNERS: Readonly<Record<string, ScannerSpec>> = {
  ban_substrings: banSubstrings,
  toxicity,
  malicious_urls: {
    name: 'malicious_urls',
    about: 'links that look malicious: IP hosts, look-alike domains, executable downloads, javascript: URLs',
    redacts: false,
    messages: 'all',
    joined: false,
    stream: 'window',
    properties: { allow_domains: STRING_LIST, deny_domains: STRING_LIST },
    required: [],
    create: (o, threshold) =>
      createMaliciousUrlsScanner({
        ...(threshold === undefined ? {} : { threshold }),
        ...(strings(o['allow_domains']) === undefined ? {} : { allowDomains: strings(o['allow_domains'])! }),
        ...(strings(o['deny_domains']) === undefined ? {} : { denyDomains: strings(o['deny_domains'])! }),
      }),
  },
  no_refusal: {
    name: 'no_refusal',
    about: 'answers in which the model refuses ("I can\'t help with that")',
    redacts: false,
    messages: 'all',
    joined: false,
    stream: 'prefix',
    properties: {},
    required: [],
    create: (_o, threshold) => createNoRefusalScanner(threshold === undefined ? {} : { threshold }),
  },
  no_code: {
    name: 'no_code',
    about: 'source code in the answer (fenced, indented or bare)',
    redacts: false,
    messages: 'all',
    joined: false,
    stream: 'window',
    properties: { languages: { type: 'array', items: { enum: [...NO_CODE_LANGUAGES] }, minItems: 1 } },
    required: [],
    create: (o, threshold) =>
      createNoCodeScanner({
        ...(threshold === undefined ? {} : { threshold }),
        ...(strings(o['languages']) === undefined ? {} : { languages: strings(o['languages'])! }),
      }),
  },
};
