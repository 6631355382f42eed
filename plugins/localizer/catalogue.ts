// The localized error messages: messages.json (data), merged with config-provided overrides and languages.
//
// Templates: {name} inserts a value; [ ... ] is an optional part, dropped when a value inside it is missing;
// {name, plural, one {# second} other {# seconds}} picks a form by Intl.PluralRules (zero, one, two, few, many,
// other, or =N), # being the number; \ escapes the next character. A message never shows a raw {name}: a value
// missing outside an optional part makes the language unusable for that call, and the chain falls back (to English
// last, then null, when the caller keeps its own English message).

import { readFileSync } from 'node:fs';
import { lookupChain } from './tags.ts';

/** The languages messages.json covers for every code. */
export const DEFAULT_LANGUAGES: readonly string[] = ['en', 'zh-Hans', 'zh-Hant', 'vi', 'ja', 'ko', 'ru', 'ar'];

/** Values for a template. null, undefined and '' count as missing. */
export type TemplateValues = Readonly<Record<string, string | number | null | undefined>>;

/** Config-provided templates: `{ [lang]: { [code]: template } }`, merged over messages.json. */
export type MessageOverrides = Readonly<Record<string, Readonly<Record<string, string>>>>;

export interface FormattedMessage {
  readonly message: string;
  /** The language the message is in (for Content-Language), as the catalogue spells it. */
  readonly lang: string;
}

/** One code in messages.json. */
export interface CatalogueEntry {
  /** Placeholder name → where the gateway takes its value from (documentation). */
  readonly placeholders: Readonly<Record<string, string>>;
  /** Language tag → template. */
  readonly messages: Readonly<Record<string, string>>;
}

export type CatalogueData = Readonly<Record<string, CatalogueEntry>>;

// ---------------------------------------------------------------------------------------------------------
// Templates

type TemplateNode = string | VarNode | PluralNode | OptionalNode | HashNode;
interface VarNode {
  readonly kind: 'var';
  readonly name: string;
}
interface PluralNode {
  readonly kind: 'plural';
  readonly name: string;
  readonly forms: ReadonlyMap<string, readonly TemplateNode[]>;
}
interface OptionalNode {
  readonly kind: 'optional';
  readonly nodes: readonly TemplateNode[];
}
interface HashNode {
  readonly kind: 'hash';
}

const PLURAL_SELECTOR = /^(?:zero|one|two|few|many|other|=\d+)$/;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

export class TemplateError extends Error {
  constructor(message: string, template: string, position: number) {
    super(`${message} at character ${position} of ${JSON.stringify(template)}`);
    this.name = 'TemplateError';
  }
}

class Parser {
  readonly #src: string;
  #pos = 0;

  constructor(src: string) {
    this.#src = src;
  }

  parse(): TemplateNode[] {
    const nodes = this.#sequence(null, false);
    if (this.#pos < this.#src.length) this.#fail(`unexpected "${this.#src[this.#pos]}"`);
    return nodes;
  }

  #fail(message: string): never {
    throw new TemplateError(message, this.#src, this.#pos);
  }

  #sequence(close: ']' | '}' | null, inPlural: boolean): TemplateNode[] {
    const nodes: TemplateNode[] = [];
    let text = '';
    const flush = (): void => {
      if (text !== '') nodes.push(text);
      text = '';
    };
    while (this.#pos < this.#src.length) {
      const ch = this.#src[this.#pos]!;
      if (ch === '\\') {
        if (this.#pos + 1 >= this.#src.length) this.#fail('a lone "\\" at the end');
        text += this.#src[this.#pos + 1];
        this.#pos += 2;
      } else if (ch === close) {
        break;
      } else if (ch === ']' || ch === '}') {
        this.#fail(`unmatched "${ch}"`);
      } else if (ch === '[') {
        flush();
        this.#pos++;
        const inner = this.#sequence(']', inPlural);
        this.#expect(']');
        nodes.push({ kind: 'optional', nodes: inner });
      } else if (ch === '{') {
        flush();
        nodes.push(this.#placeholder());
      } else if (ch === '#' && inPlural) {
        flush();
        nodes.push({ kind: 'hash' });
        this.#pos++;
      } else {
        text += ch;
        this.#pos++;
      }
    }
    flush();
    return nodes;
  }

  #expect(ch: string): void {
    if (this.#src[this.#pos] !== ch) this.#fail(this.#pos >= this.#src.length ? `missing "${ch}"` : `expected "${ch}"`);
    this.#pos++;
  }

  #spaces(): void {
    while (this.#src[this.#pos] === ' ') this.#pos++;
  }

  #word(pattern: RegExp, what: string): string {
    pattern.lastIndex = this.#pos;
    const match = pattern.exec(this.#src);
    if (match === null) this.#fail(`expected ${what}`);
    this.#pos += match[0].length;
    return match[0];
  }

  #placeholder(): TemplateNode {
    this.#pos++; // {
    this.#spaces();
    const name = this.#word(NAME, 'a placeholder name');
    this.#spaces();
    if (this.#pos >= this.#src.length) this.#fail('missing "}"');
    if (this.#src[this.#pos] === '}') {
      this.#pos++;
      return { kind: 'var', name };
    }
    this.#expect(',');
    this.#spaces();
    if (this.#word(/[a-z]+/y, '"plural"') !== 'plural') this.#fail('only "plural" is supported after a name');
    this.#spaces();
    this.#expect(',');
    const forms = new Map<string, readonly TemplateNode[]>();
    for (;;) {
      this.#spaces();
      if (this.#src[this.#pos] === '}') {
        this.#pos++;
        break;
      }
      const selector = this.#word(/=?[a-z0-9]+/y, 'a plural selector');
      if (!PLURAL_SELECTOR.test(selector)) this.#fail(`unknown plural selector "${selector}"`);
      this.#spaces();
      this.#expect('{');
      forms.set(selector, this.#sequence('}', true));
      this.#expect('}');
    }
    if (!forms.has('other')) this.#fail(`the plural of "${name}" has no "other" form`);
    return { kind: 'plural', name, forms };
  }
}

/** Parses a template; throws TemplateError on bad syntax. */
export function parseTemplate(template: string): TemplateNode[] {
  return new Parser(template).parse();
}

/** The placeholder names a template uses (plain and plural), sorted. */
export function placeholdersOf(template: string): string[] {
  const names = new Set<string>();
  const walk = (nodes: readonly TemplateNode[]): void => {
    for (const node of nodes) {
      if (typeof node === 'string' || node.kind === 'hash') continue;
      if (node.kind === 'optional') walk(node.nodes);
      else {
        names.add(node.name);
        if (node.kind === 'plural') for (const form of node.forms.values()) walk(form);
      }
    }
  };
  walk(parseTemplate(template));
  return [...names].sort();
}

// ---------------------------------------------------------------------------------------------------------
// Rendering

const RTL = new Set(['ar', 'fa', 'he', 'ur', 'ps', 'yi', 'dv', 'ckb', 'sd', 'ug']);
/** First-strong isolate … pop directional isolate: keeps an LTR model name from reordering RTL text around it. */
const FSI = '\u2068';
const PDI = '\u2069';

interface Locale {
  readonly numbers: Intl.NumberFormat;
  readonly plurals: Intl.PluralRules;
  readonly rtl: boolean;
}

const locales = new Map<string, Locale>();

function locale(lang: string): Locale {
  let found = locales.get(lang);
  if (found === undefined) {
    let numbers: Intl.NumberFormat;
    let plurals: Intl.PluralRules;
    try {
      // Western digits everywhere: the same digits as the Retry-After header and the ids around them.
      numbers = new Intl.NumberFormat(lang, { numberingSystem: 'latn', maximumFractionDigits: 3 });
      plurals = new Intl.PluralRules(lang);
    } catch {
      numbers = new Intl.NumberFormat('en', { maximumFractionDigits: 3 });
      plurals = new Intl.PluralRules('en');
    }
    found = { numbers, plurals, rtl: RTL.has(lang.toLowerCase().split('-')[0]!) };
    locales.set(lang, found);
  }
  return found;
}

function present(value: string | number | null | undefined): value is string | number {
  return value !== undefined && value !== null && value !== '' && !(typeof value === 'number' && !Number.isFinite(value));
}

/** Renders nodes; null when a value outside an optional part is missing. */
function render(nodes: readonly TemplateNode[], values: TemplateValues, loc: Locale, hash: string | null): string | null {
  let out = '';
  for (const node of nodes) {
    if (typeof node === 'string') {
      out += node;
      continue;
    }
    switch (node.kind) {
      case 'hash':
        out += hash ?? '#';
        break;
      case 'optional':
        out += render(node.nodes, values, loc, hash) ?? '';
        break;
      case 'var': {
        const value = Object.hasOwn(values, node.name) ? values[node.name] : undefined;
        if (!present(value)) return null;
        if (typeof value === 'number') out += loc.numbers.format(value);
        else out += loc.rtl ? FSI + value + PDI : value;
        break;
      }
      case 'plural': {
        const value = Object.hasOwn(values, node.name) ? values[node.name] : undefined;
        if (!present(value)) return null;
        const n = typeof value === 'number' ? value : Number(value);
        let form: readonly TemplateNode[] | undefined;
        let shown: string;
        if (Number.isFinite(n) && String(value).trim() !== '') {
          form = node.forms.get(`=${n}`) ?? node.forms.get(loc.plurals.select(n));
          shown = loc.numbers.format(n);
        } else {
          shown = String(value);
        }
        const text = render(form ?? node.forms.get('other')!, values, loc, shown);
        if (text === null) return null;
        out += text;
        break;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The catalogue

interface Compiled {
  /** The tag as written in the data or overrides. */
  readonly lang: string;
  readonly template: string;
  readonly nodes: readonly TemplateNode[];
}

const LANGUAGE_TAG = /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$/;

/** messages.json merged with overrides, compiled once. */
export class Catalogue {
  /** code → lower-case language tag → template. */
  readonly #entries = new Map<string, Map<string, Compiled>>();
  /** Every language with at least one template, as spelled in the data or overrides. */
  readonly languages: readonly string[];

  /** Throws an Error listing every malformed language tag or template. */
  constructor(data: CatalogueData, overrides: MessageOverrides = {}) {
    const problems: string[] = [];
    const languages = new Map<string, string>();
    const add = (code: string, lang: string, template: unknown, where: string): void => {
      if (typeof template !== 'string') {
        problems.push(`${where}: must be a string`);
        return;
      }
      if (template.trim() === '') return;
      let nodes: TemplateNode[];
      try {
        nodes = parseTemplate(template);
      } catch (error) {
        problems.push(`${where}: ${(error as Error).message}`);
        return;
      }
      let byLang = this.#entries.get(code);
      if (byLang === undefined) this.#entries.set(code, (byLang = new Map()));
      byLang.set(lang.toLowerCase(), { lang, template, nodes });
      if (!languages.has(lang.toLowerCase())) languages.set(lang.toLowerCase(), lang);
    };
    for (const [code, entry] of Object.entries(data)) {
      if (code.startsWith('$')) continue;
      for (const [lang, template] of Object.entries(entry.messages)) add(code, lang, template, `messages.${code}.${lang}`);
    }
    for (const [lang, byCode] of Object.entries(overrides)) {
      if (!LANGUAGE_TAG.test(lang)) {
        problems.push(`overrides.${lang}: not a language tag`);
        continue;
      }
      if (typeof byCode !== 'object' || byCode === null) {
        problems.push(`overrides.${lang}: must map error codes to templates`);
        continue;
      }
      for (const [code, template] of Object.entries(byCode)) add(code, lang, template, `overrides.${lang}.${code}`);
    }
    if (problems.length > 0) throw new Error(`localizer messages: ${problems.length} error${problems.length === 1 ? '' : 's'}\n  ${problems.join('\n  ')}`);
    this.languages = [...languages.values()];
  }

  /** The codes that have at least one template. */
  get codes(): string[] {
    return [...this.#entries.keys()];
  }

  /** The template for exactly this code and language (case-insensitive), without fallback. */
  template(code: string, lang: string): string | undefined {
    return this.#entries.get(code)?.get(lang.toLowerCase())?.template;
  }

  /**
   * The message for `code` in `lang`, or in the nearest language that has one: zh-Hant-TW → zh-Hant → en,
   * zh-TW → zh-Hant, zh → zh-Hans, de-CH → de → en. A language whose template needs a value that is missing is
   * skipped the same way. Null for an unknown code, or when not even English can be filled.
   */
  format(code: string, lang: string, values: TemplateValues = {}): FormattedMessage | null {
    const byLang = this.#entries.get(code);
    if (byLang === undefined) return null;
    const tried = new Set<string>();
    for (const tag of [...lookupChain(lang), 'en']) {
      if (tried.has(tag)) continue;
      tried.add(tag);
      const compiled = byLang.get(tag);
      if (compiled === undefined) continue;
      const text = render(compiled.nodes, values, locale(compiled.lang), null);
      if (text !== null) return { message: tidy(text), lang: compiled.lang };
    }
    return null;
  }
}

/** Spaces left doubled or dangling by a dropped optional part. */
function tidy(text: string): string {
  return text.replace(/ {2,}/g, ' ').trim();
}

/** Reads and checks the shape of a messages.json text. */
export function parseCatalogueData(json: string): CatalogueData {
  const raw = JSON.parse(json) as unknown;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('messages.json: expected an object of error codes');
  const data: Record<string, CatalogueEntry> = {};
  for (const [code, value] of Object.entries(raw as Record<string, unknown>)) {
    if (code.startsWith('$')) continue;
    const entry = value as { placeholders?: unknown; messages?: unknown } | null;
    if (typeof entry?.messages !== 'object' || entry.messages === null) throw new Error(`messages.json: ${code}.messages must be an object`);
    data[code] = {
      placeholders: (typeof entry.placeholders === 'object' && entry.placeholders !== null ? entry.placeholders : {}) as Record<string, string>,
      messages: entry.messages as Record<string, string>,
    };
  }
  return data;
}

/** messages.json as shipped. */
export const MESSAGE_DATA: CatalogueData = parseCatalogueData(readFileSync(new URL('./messages.json', import.meta.url), 'utf8'));

/** The catalogue without overrides. */
export const defaultCatalogue = new Catalogue(MESSAGE_DATA);

const merged = new WeakMap<MessageOverrides, Catalogue>();

/** A catalogue of messages.json with `overrides` merged over it (throws on a malformed template or tag). */
export function createCatalogue(overrides?: MessageOverrides): Catalogue {
  if (overrides === undefined) return defaultCatalogue;
  let catalogue = merged.get(overrides);
  if (catalogue === undefined) merged.set(overrides, (catalogue = new Catalogue(MESSAGE_DATA, overrides)));
  return catalogue;
}

/**
 * The localized message for an error code: `lang` or the nearest language with a template (see
 * Catalogue.format), with `values` filled in. `overrides` (config) are merged over messages.json; the merge is
 * cached per overrides object. Null for an unknown code or when no template can be filled.
 */
export function formatMessage(code: string, lang: string, values: TemplateValues, overrides?: MessageOverrides): FormattedMessage | null {
  return createCatalogue(overrides).format(code, lang, values);
}
