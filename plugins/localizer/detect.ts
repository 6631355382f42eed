// Language detection for the localizer: which language the user writes in, from a short chat message.
//
// Scripts decide most cases without a model: Hangul is Korean, kana is Japanese, Han without kana is Chinese
// (Simplified or Traditional by the character tables in han.ts), Arabic script is Arabic (Persian and Urdu by their
// own letters), Cyrillic is Russian unless its letters (or the n-gram model) say Ukrainian, Bulgarian... In Latin
// script, Vietnamese is told by its letters, or by its syllables when typed without diacritics (which n-gram models
// miss), and English by a short list of its most frequent words. Only other Latin-script languages (French,
// German...) need the statistical detector, tinyld's heavy profile (n-grams, pure JS, no download), which costs about
// 110 MB of RSS once loaded: see ngram.ts. `createDetector(languages)` loads it only when one of `languages` needs it;
// `detectLanguage(text)` knows every language and loads it on the first text that needs it.
// `node plugins/localizer/detect.eval.ts` compares both with other libraries.

import { hanVariant } from './han.ts';
import { loadNgramModel, ngramModelSync, type NgramDetect } from './ngram.ts';
import { lookup, negotiate } from './tags.ts';

export { HAN_PAIR_COUNT, hanVariant } from './han.ts';
export { lookup, lookupChain, negotiate, parseAcceptLanguage } from './tags.ts';

// ---------------------------------------------------------------------------------------------------------
// Scripts

/** The scripts the fast path tells apart (indices into the count arrays). */
const S = {
  latin: 0,
  han: 1,
  kana: 2,
  hangul: 3,
  cyrillic: 4,
  arabic: 5,
  other: 6,
} as const;
type ScriptId = (typeof S)[keyof typeof S];
const SCRIPT_COUNT = 7;

/** Letters of the scripts the fast path knows, by code point. Marks and punctuation are not letters here. */
function scriptOf(cp: number): ScriptId | -1 {
  if (cp < 0x80) return (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x41 && cp <= 0x5a) ? S.latin : -1;
  if ((cp >= 0xc0 && cp <= 0x24f && cp !== 0xd7 && cp !== 0xf7) || (cp >= 0x1e00 && cp <= 0x1eff)) return S.latin;
  if ((cp >= 0xff21 && cp <= 0xff3a) || (cp >= 0xff41 && cp <= 0xff5a)) return S.latin;
  if ((cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x20000 && cp <= 0x3134f)) {
    return S.han;
  }
  if ((cp >= 0x3041 && cp <= 0x309f) || (cp >= 0x30a1 && cp <= 0x30ff && cp !== 0x30fb) || (cp >= 0x31f0 && cp <= 0x31ff) || (cp >= 0xff66 && cp <= 0xff9f)) {
    return S.kana;
  }
  if ((cp >= 0xac00 && cp <= 0xd7af) || (cp >= 0x1100 && cp <= 0x11ff) || (cp >= 0x3131 && cp <= 0x318e)) return S.hangul;
  if ((cp >= 0x400 && cp <= 0x481) || (cp >= 0x48a && cp <= 0x52f)) return S.cyrillic;
  if ((cp >= 0x620 && cp <= 0x64a) || (cp >= 0x66e && cp <= 0x6d3) || (cp >= 0x6fa && cp <= 0x6ff) || (cp >= 0x750 && cp <= 0x77f) || (cp >= 0xfb50 && cp <= 0xfdff) || (cp >= 0xfe70 && cp <= 0xfefc)) {
    return S.arabic;
  }
  if (cp >= 0x370 && cp !== 0x2019 && OTHER_LETTER.test(String.fromCodePoint(cp))) return S.other;
  return -1;
}
const OTHER_LETTER = /\p{L}/u;

/** Fenced and inline code, URLs and e-mail addresses say nothing about the user's language. */
const NOISE = /```[\s\S]*?(?:```|$)|`[^`\n]*`|\bhttps?:\/\/\S+|\b[\w.+-]+@[\w-]+\.[\w.-]+/g;

/** How much text is looked at: the start of a long message says as much as the whole. */
const MAX_CHARS = 1000;

interface ScriptCounts {
  /** Letters per script. */
  readonly letters: number[];
  /** Runs of letters of one script (words, for alphabetic scripts); Latin ones of two letters or more. */
  readonly words: number[];
}

function countScripts(text: string): ScriptCounts {
  const letters = new Array<number>(SCRIPT_COUNT).fill(0);
  const words = new Array<number>(SCRIPT_COUNT).fill(0);
  let previous: ScriptId | -1 = -1;
  let run = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    // Combining marks (Vietnamese typed with decomposed accents, Devanagari vowel signs) continue the word.
    if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x900 && cp <= 0xdff && previous === S.other)) continue;
    // Node.js, GPT-4o, e-mail, don't: one word.
    if (previous !== -1 && (cp === 0x2e || cp === 0x2d || cp === 0x5f || cp === 0x27 || cp === 0x2019 || (cp >= 0x30 && cp <= 0x39))) continue;
    const script = scriptOf(cp);
    run = script === previous ? run + 1 : 1;
    if (script !== -1) {
      letters[script]!++;
      // A one-letter Latin "word" is a variable, an initial or "a": it says little and is left out.
      if (run === (script === S.latin ? 2 : 1)) words[script]!++;
    }
    previous = script;
  }
  return { letters, words };
}

// ---------------------------------------------------------------------------------------------------------
// Detection

export interface Detection {
  /** BCP 47: en, zh-Hans, zh-Hant, vi, ja, ko, ru, ar, de, uk... "zh" when Han text shows neither script. */
  readonly lang: string;
  /** 0..1: near 1 for a script (Hangul, kana...), 0.6–0.85 for an n-gram answer; lower when scripts are mixed. */
  readonly confidence: number;
}

/** An n-gram answer whose score leads the runner-up by less than this share is a guess: null. */
const MIN_MARGIN = 0.1;

/** The n-gram model, fetched when a text needs it; null: decide by scripts, letters and word lists alone. */
type NgramSource = (() => NgramDetect) | null;

/**
 * The language of a short user text (a chat message), or null when it is too short, is code, or the detector is
 * unsure. Every language tinyld knows: the first text that needs its model (Latin script other than Vietnamese typed
 * without diacritics, Cyrillic without a telling letter, Greek, Thai...) loads it synchronously (about a second and
 * 110 MB, once). Costs a few µs for CJK, Hangul and Arabic text and ~25 µs for Latin text (tinyld). A server uses
 * createDetector() instead.
 */
export function detectLanguage(text: string): Detection | null {
  return detect(text, ngramModelSync);
}

/**
 * Languages whose text scripts, letters and word lists settle without the n-gram model: an answer outside them only
 * ever means "not one of these", which needs no model to say.
 */
const SETTLED_WITHOUT_NGRAMS: ReadonlySet<string> = new Set([
  'en', 'vi', 'zh', 'ja', 'ko', 'ru', 'uk', 'be', 'sr', 'mk', 'kk', 'ar', 'fa', 'ur',
  'el', 'he', 'th', 'hi', 'bn', 'ta', 'te', 'ka', 'hy', 'km', 'my', 'am',
]);

/** True when telling `languages` apart takes the n-gram model (French, German, Bulgarian...). */
export function needsNgramModel(languages: readonly string[]): boolean {
  return languages.some((tag) => !SETTLED_WITHOUT_NGRAMS.has(tag.toLowerCase().split(/[-_]/)[0]!));
}

/**
 * A detector for a server that answers in `languages` (a catalogue's): the n-gram model is loaded (without blocking)
 * only when one of them needs it. Without it, Latin-script text that is neither Vietnamese nor English is null and
 * Cyrillic text without a telling letter is Russian: for these languages the answer is the same.
 */
export async function createDetector(languages: readonly string[]): Promise<(text: string) => Detection | null> {
  if (!needsNgramModel(languages)) return (text) => detect(text, null);
  const model = await loadNgramModel();
  const source = (): NgramDetect => model;
  return (text) => detect(text, source);
}

function detect(text: string, ngram: NgramSource): Detection | null {
  // Cut before the noise pass too: a 9 MB prompt must cost no more than a short one (noise can shrink the text, so
  // twice the window is kept for it).
  const clean = text.slice(0, MAX_CHARS * 2).replace(NOISE, ' ').slice(0, MAX_CHARS);
  const { letters, words } = countScripts(clean);
  // Comparable weights: one Latin, Cyrillic or Arabic word ≈ 1.5 Han characters ≈ 2.5 kana ≈ 2 Hangul syllables.
  // Latin words inside another script are mostly names (Docker, iPhone), so they weigh less there.
  const foreign = letters.some((n, script) => script !== S.latin && n > 0);
  const weights = [
    words[S.latin]! * (foreign ? 0.75 : 1),
    letters[S.han]! / 1.5,
    letters[S.kana]! / 2.5,
    letters[S.hangul]! / 2,
    words[S.cyrillic]!,
    words[S.arabic]!,
    words[S.other]!,
  ];
  const cjk = weights[S.han]! + weights[S.kana]!;
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let best: ScriptId = S.latin;
  for (let s = 1; s < SCRIPT_COUNT; s++) if (weights[s]! > weights[best]!) best = s as ScriptId;
  // Han and kana are one writing system: Japanese mixes them, so they compete together.
  if (cjk > weights[best]!) best = S.han;
  const share = (best === S.han || best === S.kana ? cjk : weights[best]!) / total;
  const dominance = 0.5 + 0.5 * share;

  switch (best) {
    case S.hangul:
      return letters[S.hangul]! >= 2 ? { lang: 'ko', confidence: round(0.99 * dominance) } : null;
    case S.han:
    case S.kana:
      return chineseOrJapanese(clean, letters[S.han]!, letters[S.kana]!, dominance);
    case S.cyrillic:
      return letters[S.cyrillic]! >= 3 ? { lang: cyrillic(clean, ngram), confidence: round(0.95 * dominance) } : null;
    case S.arabic:
      return letters[S.arabic]! >= 3 ? { lang: arabicScript(clean), confidence: round(0.95 * dominance) } : null;
    case S.latin:
      return latin(clean, letters[S.latin]!, words[S.latin]!, dominance, ngram);
    default:
      return other(clean, dominance, ngram);
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function chineseOrJapanese(text: string, han: number, kana: number, dominance: number): Detection | null {
  // Kana is Japanese (東京大学の入試), though a lone の in a long Chinese sentence is Taiwanese marketing style.
  if (kana >= 2 || (kana === 1 && han <= 8)) return { lang: 'ja', confidence: round(0.99 * dominance) };
  if (han < 2) return null;
  const variant = hanVariant(text);
  // No character that tells the scripts apart (你好, 谢谢 aside): plain "zh", which negotiate() and
  // chooseLanguage() resolve (to zh-Hans, or to what Accept-Language asks for).
  if (variant === null) return { lang: 'zh', confidence: round(0.7 * dominance) };
  return { lang: variant.lang, confidence: round(variant.confidence * dominance) };
}

/** Serbian, Macedonian, Kazakh, Belarusian, Ukrainian letters; else Russian unless tinyld is sure. */
function cyrillic(text: string, ngram: NgramSource): string {
  if (/[ў]/iu.test(text)) return 'be';
  if (/[ђћџ]/iu.test(text)) return 'sr';
  if (/[ѓќѕ]/iu.test(text)) return 'mk';
  if (/[јљњ]/iu.test(text)) return 'sr';
  if (/[әғқңөұүһ]/iu.test(text)) return 'kk';
  if (/[їєґ]/iu.test(text)) return 'uk';
  const russianOnly = /[ыэё]/iu.test(text);
  if (/[і]/iu.test(text) && !russianOnly) return 'uk';
  if (russianOnly) return 'ru';
  // Bulgarian has no letter of its own; its trigrams tell it.
  if (ngram === null) return 'ru';
  const [first, second] = ngram()(text, { only: CYRILLIC_LANGS });
  if (first !== undefined && first.lang !== 'ru' && margin(first.accuracy, second?.accuracy) >= 0.3) return first.lang;
  return 'ru';
}
const CYRILLIC_LANGS = ['ru', 'uk', 'bg', 'be', 'sr', 'mk'];

/** Persian and Urdu write the Arabic script with letters of their own. */
function arabicScript(text: string): string {
  if (/[ٹڈڑںےۓ]/u.test(text)) return 'ur';
  const persian = (text.match(/[پچژگکی]/gu) ?? []).length;
  const arabic = (text.match(/[يكةى]/gu) ?? []).length;
  return persian > arabic ? 'fa' : 'ar';
}

/**
 * The Latin-script languages tinyld may answer. Left out: Latin, Esperanto, Volapük, Klingon, and Afrikaans,
 * Kirundi, Irish, Turkmen, Berber, which short English (or code) too often matches and chat users rarely write.
 */
const LATIN_LANGS = ['en', 'fr', 'de', 'es', 'pt', 'it', 'nl', 'vi', 'id', 'tl', 'cs', 'sk', 'pl', 'da', 'sv', 'no', 'fi', 'is', 'hu', 'ro', 'lt', 'lv', 'et', 'tr'];

function latin(text: string, letters: number, words: number, dominance: number, ngram: NgramSource): Detection | null {
  // One short word (ok, hi, lol, Bonjour) is no evidence.
  if (letters < 4 || (words < 2 && letters < 8)) return null;
  const vi = vietnameseWithoutDiacritics(text) ?? (ngram === null ? vietnameseByLetters(text) : null);
  if (vi !== null) return { lang: 'vi', confidence: round(vi * dominance) };
  if (ngram !== null) {
    const found = ngramAnswer(text, LATIN_LANGS, dominance, ngram());
    if (found !== null) return found;
  }
  // The model is unsure (a terse request) or not loaded: English when its words outweigh any other language's.
  const en = english(text);
  return en === null ? null : { lang: 'en', confidence: round(en * dominance) };
}

/** tinyld's answer, or null when its best score hardly leads. */
function ngramAnswer(text: string, only: readonly string[] | null, dominance: number, detectAll: NgramDetect): Detection | null {
  const [first, second] = only === null ? detectAll(text) : detectAll(text, { only: [...only] });
  if (first === undefined) return null;
  // tinyld's accuracy is 1 when a gram unique to one language matched; otherwise its scores are relative.
  let confidence = 0.85;
  if (first.accuracy < 1) {
    const lead = margin(first.accuracy, second?.accuracy);
    if (lead < MIN_MARGIN) return null;
    confidence = 0.6 + 0.25 * lead;
  }
  return { lang: first.lang, confidence: round(confidence * dominance) };
}

function margin(first: number, second: number | undefined): number {
  return first <= 0 ? 0 : (first - (second ?? 0)) / first;
}

/** Greek, Hebrew, Thai, Devanagari, Georgian...: tinyld (when loaded), else the script's main language. */
function other(text: string, dominance: number, ngram: NgramSource): Detection | null {
  const found = ngram === null ? null : ngramAnswer(text, null, dominance, ngram());
  if (found !== null) return found;
  for (const [script, lang] of SCRIPT_LANGS) if (script.test(text)) return { lang, confidence: round(0.7 * dominance) };
  return null;
}
const SCRIPT_LANGS: readonly [RegExp, string][] = [
  [/\p{Script=Greek}/u, 'el'],
  [/\p{Script=Hebrew}/u, 'he'],
  [/\p{Script=Thai}/u, 'th'],
  [/\p{Script=Devanagari}/u, 'hi'],
  [/\p{Script=Bengali}/u, 'bn'],
  [/\p{Script=Tamil}/u, 'ta'],
  [/\p{Script=Telugu}/u, 'te'],
  [/\p{Script=Georgian}/u, 'ka'],
  [/\p{Script=Armenian}/u, 'hy'],
  [/\p{Script=Khmer}/u, 'km'],
  [/\p{Script=Myanmar}/u, 'my'],
  [/\p{Script=Ethiopic}/u, 'am'],
];

// ---------------------------------------------------------------------------------------------------------
// Vietnamese typed without diacritics ("cam on ban nhieu"), which n-gram models read as Romanian or Indonesian.

/** A Vietnamese syllable, accents removed: onset, vowels, coda. Vietnamese has no f, j, w, z. */
const VI_SYLLABLE = /^(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ng|nh|ch|[cmnpt])?$/;

const wordSet = (list: string): Set<string> => new Set(list.trim().split(/\s+/));

/** Frequent Vietnamese syllables that are not also words of English, French, Spanish, Italian, Portuguese, Dutch. */
const VI_STRONG = wordSet(`
  khong duoc nguoi nhung nhieu minh toi cua nay lam giup viet tieng muon hoc thi khi nhu cai biet hieu phai chua roi
  vay nhe gi voi ngay hom troi chao xin nghi phep doi khau chieu nuoc duong thanh xuong thay nghe hoi xem nghia giai
  thich huong cach trong khac nhat cung nen neu chay cham nhanh tien gio phut giay uong choi kiem dien thoai tinh nhan
  ngon lanh nong truong viec chuyen sach vui yeu thuong dinh ngan anh dau nang khoe khach sinh vien luon nhin mang
  tieu ngu thuc`);

/** Frequent Vietnamese syllables that are also short words elsewhere (ban, may, hay, de, la, moi...): half weight. */
const VI_WEAK = wordSet(`
  ban may hay de la co di da ve bay mot hai ba bon nam sau tam chin muoi an em chi ong ba bac cho tot dep mua tim doc
  qua lai nao moi tin ten mau tu va ma ho tao be tre gia day dai gui bao bang cau bai dat ra vao len hat ai sao
  dung sang hang dem`);

/** Two-syllable phrases that are Vietnamese whatever their syllables are elsewhere; each counts as two strong words. */
const VI_PHRASES = wordSet('cam_on xin_loi tam_biet the_nao bao_nhieu tai_sao la_gi nhu_the o_dau khi_nao');

/**
 * A confidence (0..1) that ASCII-only text is Vietnamese without its accents, or null. `loanwords`: the share of
 * words that may be no Vietnamese syllable (1/4; 1/2 for text whose accents were taken off, as they said much).
 */
function vietnameseWithoutDiacritics(text: string, loanwords = 4): number | null {
  if (/[^\x00-\x7f]/.test(text)) return null;
  const tokens = text.toLowerCase().match(/[a-z]+/g) ?? [];
  if (tokens.length < 3) return null;
  let syllables = 0;
  let strong = 0;
  let score = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (VI_SYLLABLE.test(token)) syllables++;
    if (i + 1 < tokens.length && VI_PHRASES.has(`${token}_${tokens[i + 1]}`)) {
      strong += 2;
      score += 2;
      syllables += VI_SYLLABLE.test(tokens[i + 1]!) ? 1 : 0;
      i++;
    } else if (VI_STRONG.has(token)) {
      strong++;
      score++;
    } else if (VI_WEAK.has(token)) {
      score += 0.5;
    }
  }
  // Nearly every word must be a possible syllable (a loanword like "email" may slip in), one at least must be
  // Vietnamese only, and together they must make a good part of the text.
  if (tokens.length - syllables > Math.floor(tokens.length / loanwords)) return null;
  if (strong === 0 || score < Math.max(1.5, 0.4 * tokens.length)) return null;
  return Math.min(0.9, 0.5 + 0.4 * (score / tokens.length));
}

/** Letters only Vietnamese writes: ơ, ư and the vowels with a tone mark under or over another diacritic. */
const VI_ONLY_LETTER = /[ơưƠƯ\u1ea0-\u1ef9]/u;

/**
 * A confidence that text with diacritics is Vietnamese (without the n-gram model), or null: its own letters in a
 * good share of the words, else its syllables once the accents are taken off (Tôi là ai → toi la ai).
 */
function vietnameseByLetters(text: string): number | null {
  const words = text.match(/[\p{L}\p{M}]+/gu) ?? [];
  const marked = words.filter((word) => VI_ONLY_LETTER.test(word)).length;
  // A Vietnamese name (Nguyễn) in another language's sentence is not enough.
  if (marked >= 2 || (marked === 1 && words.length <= 5)) return Math.min(0.95, 0.8 + marked / words.length);
  const bare = text.normalize('NFD').replace(/\p{M}/gu, '').replace(/[đĐ]/g, 'd');
  return bare === text ? null : vietnameseWithoutDiacritics(bare, 2);
}

// ---------------------------------------------------------------------------------------------------------
// English by its words. Without the n-gram model the question is only "English, or some other language?": the most
// frequent English words against those of the other languages written in Latin script (and their diacritics).

/** Frequent English words, and the verbs chat requests start with, that are not words of the languages below. */
const EN_WORDS = wordSet(`
  a an the and or but of to in on at for with from by about into over after than then this that these those
  i you he she it we they me my your our their his her its him them us
  is are was were be been being am do does did done have has had can could will would should may might must shall
  not no yes what which who whom whose why how when where there here any some all more most other just also very so
  too only if because up out again new good best well much many few one two three first last next same own
  please thanks thank hello hey ok okay sorry
  get give make write explain tell show help need want know like find use fix create generate summarize summarise
  translate list compare suggest plan draft rewrite recommend describe check add remove change keep let try say
  think look work run build turn go come take put send read learn mean means`);

/** Frequent words of the other Latin-script languages that are not English words (function words, mostly). */
const OTHER_WORDS = wordSet(`
  der das und ist nicht ich du sie wir ihr ein eine einen einem einer mit auf von zu den dem des wie warum wo wer
  kann kannst bitte danke mein meine dein deine diese dieser dieses ja nein auch noch schon sehr morgen heute gibt
  le la les un une des et est je tu il elle nous vous ils pas ne que qui quoi pourquoi comment avec pour sur dans
  ce cette ces mon ma mes ton ta tes son sa ses du au aux merci oui peux moi toi suis fait faire
  el los las unos unas una es yo ella que por para con sin muy gracias hola mi mis tus su sus este esta estos esto
  del al puedes hay como cuando donde
  os um uma eu voce ele nao sim com meu minha obrigado ola muito isso isto
  lo gli io lui lei noi voi che chi perche dove della dei delle grazie ciao mio questo questa sono
  het een en ik jij hij zij wij niet wel voor van dat wat waarom hoe waar bedankt mijn
  yang dan di ini itu saya aku kamu anda tidak bisa apa bagaimana untuk dengan dari ada akan sudah terima kasih
  bir ve bu icin ile neden nasil degil evet benim
  jest sie nie jak co dlaczego gdzie prosze`);

/**
 * A confidence (0..1) that Latin-script text is English, or null when no English word leads. Two words ("Say
 * hello") are too little to overrule the language the client's Accept-Language asks for: null.
 */
function english(text: string): number | null {
  const tokens = text.toLowerCase().match(/[\p{L}\p{M}]+/gu) ?? [];
  if (tokens.length < 3) return null;
  let en = 0;
  // Words of other languages, words with diacritics, and Spanish's opening marks.
  let other = (text.match(/[¿¡]/g) ?? []).length * 2;
  for (const token of tokens) {
    if (/[^a-z]/.test(token)) other++;
    else if (EN_WORDS.has(token)) en++;
    else if (OTHER_WORDS.has(token)) other++;
  }
  if (en === 0 || en <= other) return null;
  return 0.6 + 0.25 * ((en - other) / en);
}

// ---------------------------------------------------------------------------------------------------------
// Choosing the reply's language

/**
 * The language to answer in: the detected language of the user's text when it is supported, else the
 * Accept-Language choice, else `fallback`. A detection of plain "zh" (script unknown) takes zh-Hant or zh-Hans
 * from Accept-Language when the header names one, zh-Hans otherwise.
 */
export function chooseLanguage(detected: Detection | null, acceptLanguage: string | undefined, supported: readonly string[], fallback = 'en'): string {
  if (detected !== null) {
    if (detected.lang === 'zh') {
      const fromHeader = negotiate(acceptLanguage, supported);
      if (fromHeader !== null && fromHeader.toLowerCase().startsWith('zh')) return fromHeader;
    }
    const found = lookup(detected.lang, supported);
    if (found !== null) return found;
  }
  return negotiate(acceptLanguage, supported) ?? fallback;
}
