// Language detection for the localizer: which language the user writes in, from a short chat message.
//
// Scripts decide most cases without a model: Hangul is Korean, kana is Japanese, Han without kana is Chinese
// (Simplified or Traditional by the character tables in han.ts), Arabic script is Arabic (Persian and Urdu by their
// own letters), Cyrillic is Russian unless its letters or tinyld say Ukrainian, Bulgarian... Latin-script text goes
// to tinyld's heavy profile (n-grams, pure JS, ~17 MB of heap, no download), plus a check for Vietnamese typed
// without diacritics, which n-gram models miss. `node plugins/localizer/detect.eval.ts` compares it with other
// libraries.

import { detectAll } from 'tinyld/heavy';
import { hanVariant } from './han.ts';
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

/**
 * The language of a short user text (a chat message), or null when it is too short, is code, or the detector is
 * unsure. Costs a few µs for CJK, Hangul and Arabic text and ~25 µs for Latin text (tinyld).
 */
export function detectLanguage(text: string): Detection | null {
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
      return letters[S.cyrillic]! >= 3 ? { lang: cyrillic(clean), confidence: round(0.95 * dominance) } : null;
    case S.arabic:
      return letters[S.arabic]! >= 3 ? { lang: arabicScript(clean), confidence: round(0.95 * dominance) } : null;
    case S.latin:
      return latin(clean, letters[S.latin]!, words[S.latin]!, dominance);
    default:
      return other(clean, dominance);
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
function cyrillic(text: string): string {
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
  const [first, second] = detectAll(text, { only: CYRILLIC_LANGS });
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

function latin(text: string, letters: number, words: number, dominance: number): Detection | null {
  // One short word (ok, hi, lol, Bonjour) is no evidence.
  if (letters < 4 || (words < 2 && letters < 8)) return null;
  const vi = vietnameseWithoutDiacritics(text);
  if (vi !== null) return { lang: 'vi', confidence: round(vi * dominance) };
  return ngram(text, LATIN_LANGS, dominance);
}

/** tinyld's answer, or null when its best score hardly leads. */
function ngram(text: string, only: readonly string[] | null, dominance: number): Detection | null {
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

/** Greek, Hebrew, Thai, Devanagari, Georgian...: tinyld, else the script's main language. */
function other(text: string, dominance: number): Detection | null {
  const found = ngram(text, null, dominance);
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

/** A confidence (0..1) that ASCII-only text is Vietnamese without its accents, or null. */
function vietnameseWithoutDiacritics(text: string): number | null {
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
  if (tokens.length - syllables > Math.floor(tokens.length / 4)) return null;
  if (strong === 0 || score < Math.max(1.5, 0.4 * tokens.length)) return null;
  return Math.min(0.9, 0.5 + 0.4 * (score / tokens.length));
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
