// The localizer's foundation: language detection, Accept-Language negotiation and the message catalogue.
// The sentences here are not the benchmark's (detect.eval.ts): these check behaviour on text it never tuned on.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ERROR_CATALOGUE } from '../../core/errors.ts';
import {
  Catalogue,
  createCatalogue,
  DEFAULT_LANGUAGES,
  defaultCatalogue,
  formatMessage,
  MESSAGE_DATA,
  parseTemplate,
  placeholdersOf,
  TemplateError,
  type MessageOverrides,
} from './catalogue.ts';
import {
  chooseLanguage,
  createDetector,
  detectLanguage,
  HAN_PAIR_COUNT,
  hanVariant,
  lookupChain,
  needsNgramModel,
  negotiate,
  parseAcceptLanguage,
} from './detect.ts';

const ALL_CODES = Object.keys(ERROR_CATALOGUE);

function detected(text: string): string | null {
  return detectLanguage(text)?.lang ?? null;
}

describe('detectLanguage', () => {
  const cases: Record<string, string[]> = {
    en: [
      'Can you recommend a good podcast?',
      'My laptop keeps overheating, any tips?',
      'Draft a polite reply to my landlord',
      'Which is healthier, rice or pasta?',
      'Please list the steps to bake sourdough',
    ],
    'zh-Hans': ['帮我写一段产品介绍', '这个函数为什么报错？', '周末有什么好看的电影推荐吗', '怎样才能睡得更好？', '请给我讲讲历史上的丝绸之路'],
    'zh-Hant': ['幫我寫一段產品介紹', '這個函式為什麼出錯？', '週末有什麼好看的電影推薦嗎', '怎樣才能睡得更好？請給建議', '請跟我講講歷史上的絲綢之路'],
    vi: [
      'Bạn có thể giới thiệu vài món ăn chay không?',
      'Máy tính của tôi bị nóng quá',
      'Viết giúp tôi lời chúc sinh nhật cho mẹ',
      'minh muon dat ve may bay di da nang',
      'sao may tinh cua toi cham qua vay',
      'giai thich giup minh doan code nay',
    ],
    ja: ['おすすめのポッドキャストはありますか', 'ノートパソコンが熱くなります', '大家さんへの丁寧な返信を書いて', 'ご飯とパスタはどちらが健康的？', '天ぷらの揚げ方を教えてください'],
    ko: ['좋은 팟캐스트 추천해 주세요', '노트북이 자꾸 뜨거워져요', '집주인에게 보낼 정중한 답장을 써 줘', '밥이랑 파스타 중에 뭐가 더 건강해?', '사워도우 굽는 순서를 알려 주세요'],
    ru: ['Посоветуй хороший подкаст', 'Ноутбук постоянно перегревается, что делать?', 'Составь вежливый ответ арендодателю', 'Что полезнее: рис или макароны?', 'Перечисли шаги выпечки хлеба на закваске'],
    ar: ['هل يمكنك أن تقترح بودكاست جيدا؟', 'حاسوبي المحمول يسخن باستمرار', 'اكتب ردا مهذبا على المالك', 'أيهما أكثر صحة، الأرز أم المعكرونة؟', 'اذكر خطوات خبز العجين المخمر'],
  };
  for (const [lang, texts] of Object.entries(cases)) {
    test(`${lang}: short chat messages`, () => {
      for (const text of texts) assert.equal(detected(text), lang, text);
    });
  }

  test('mixed: product names and code words do not outvote the user’s language', () => {
    assert.equal(detected('用 Kubernetes 部署 Redis 集群的步骤'), 'zh-Hans');
    assert.equal(detected('在 Next.js 裡怎麼設定環境變數？'), 'zh-Hant');
    assert.equal(detected('Slackのメッセージを要約して'), 'ja');
    assert.equal(detected('東京大学の入学試験'), 'ja');
    assert.equal(detected('Notion 템플릿 추천해 줘'), 'ko');
    assert.equal(detected('Как обновить Node.js на Ubuntu?'), 'ru');
    assert.equal(detected('ما الفرق بين Python و JavaScript؟'), 'ar');
    assert.equal(detected('Cách cài đặt Python trên Windows'), 'vi');
    assert.equal(detected('What does 加油 mean in English?'), 'en');
    assert.equal(detected('// 计算总和\nconst s = a + b;'), 'zh-Hans');
    assert.equal(detected('帮我解释这段代码 ```js\nconst total = items.reduce((a, b) => a + b, 0)\n```'), 'zh-Hans');
  });

  test('other languages are told apart, not forced into the eight', () => {
    assert.equal(detected('Kannst du mir ein gutes Buch empfehlen?'), 'de');
    assert.equal(detected('Peux-tu me recommander un bon livre ?'), 'fr');
    assert.equal(detected('¿Me recomiendas un buen libro?'), 'es');
    assert.equal(detected('Порадь мені цікаву книжку'), 'uk');
    assert.equal(detected('Можеш ли да ми препоръчаш добра книга? Ъглите са остри.'), 'bg');
    assert.equal(detected('Можеш ли да ми препоручиш добру књигу?'), 'sr');
    assert.equal(detected('می‌توانی یک کتاب خوب پیشنهاد کنی؟'), 'fa');
    assert.equal(detected('کیا آپ مجھے کوئی اچھی کتاب بتا سکتے ہیں؟'), 'ur');
  });

  test('null when too short, not language, or unsure', () => {
    for (const text of ['', '   ', 'ok', 'hi', 'lol', '👍👍', '12345', '好', '?!', 'https://example.com/a/b', '```\nprint(1)\n```', 'a b c']) {
      assert.equal(detectLanguage(text), null, JSON.stringify(text));
    }
  });

  test('confidence is a number in (0, 1], high for scripts', () => {
    for (const text of ['비밀번호를 잊어버렸어요', 'パスワードを忘れました', 'Я забыл пароль', 'I forgot my password again']) {
      const result = detectLanguage(text);
      assert.ok(result !== null && result.confidence > 0.6 && result.confidence <= 1, text);
    }
    assert.ok(detectLanguage('비밀번호를 잊어버렸어요')!.confidence > 0.9);
  });

  test('undiacritized Vietnamese does not swallow other ASCII text', () => {
    for (const text of ['toi et moi on va au cinema', 'non hai capito niente', 'nao sei o que fazer', 'can i pay in cash', 'ban the bot now', 'la la la la']) {
      assert.notEqual(detected(text), 'vi', text);
    }
  });

  test('a long message is cut, so detection stays fast', () => {
    // Vietnamese for the first few thousand characters, then far more Russian: only a detector that looks at the
    // start alone (its work bounded, however long the message) still says Vietnamese.
    const text = 'Xin chào, tôi cần giúp đỡ với bài tập toán. '.repeat(100) + 'Привет, мне нужна помощь с домашним заданием. '.repeat(2000);
    assert.equal(detected(text), 'vi');
    assert.equal(detected('Привет, мне нужна помощь с домашним заданием. '.repeat(2000)), 'ru');
  });
});

describe('createDetector: the n-gram model only for languages that need it', () => {
  test('the eight catalogue languages need no model; French, German, Bulgarian... do', () => {
    assert.equal(needsNgramModel(DEFAULT_LANGUAGES), false);
    assert.equal(needsNgramModel(['en', 'uk', 'fa', 'ur', 'sr', 'el', 'zh-Hant-TW', 'vi_VN']), false);
    for (const lang of ['fr', 'de', 'es', 'pt-BR', 'bg', 'id']) assert.equal(needsNgramModel([...DEFAULT_LANGUAGES, lang]), true, lang);
  });

  test('for the eight, the same answers as detectLanguage() on the same messages', async () => {
    const detect = await createDetector(DEFAULT_LANGUAGES);
    const texts = [
      'Can you recommend a good podcast?',
      'My laptop keeps overheating, any tips?',
      'Which is healthier, rice or pasta?',
      'Please list the steps to bake sourdough',
      'Bạn có thể giới thiệu vài món ăn chay không?',
      'Máy tính của tôi bị nóng quá',
      'Tôi là ai',
      'minh muon dat ve may bay di da nang',
      '周末有什么好看的电影推荐吗',
      '週末有什麼好看的電影推薦嗎',
      '天ぷらの揚げ方を教えてください',
      '노트북이 자꾸 뜨거워져요',
      'Что полезнее: рис или макароны?',
      'Порадь мені цікаву книжку',
      'أيهما أكثر صحة، الأرز أم المعكرونة؟',
      'What does 加油 mean in English?',
      'Cách cài đặt Python trên Windows',
    ];
    for (const text of texts) assert.equal(detect(text)?.lang ?? null, detected(text), text);
    for (const text of ['', 'ok', 'lol', '12345', 'a b c', 'https://example.com/a/b']) assert.equal(detect(text), null, JSON.stringify(text));
    assert.ok(detect('I forgot my password again')!.confidence > 0.6);
  });

  test('for the eight, other Latin-script languages are none of them (Accept-Language decides)', async () => {
    const detect = await createDetector(DEFAULT_LANGUAGES);
    for (const text of [
      'Kannst du mir ein gutes Buch empfehlen?',
      'Was bedeutet diese Fehlermeldung?',
      'Peux-tu me recommander un bon livre ?',
      '¿Me recomiendas un buen libro?',
      'Pode me recomendar um bom livro?',
      'Mi consigli un buon libro?',
      'Kun je een goed boek aanraden?',
      'Bisakah kamu merekomendasikan buku yang bagus?',
      'Czy możesz polecić dobrą książkę?',
      'toi et moi on va au cinema',
    ]) {
      const lang = detect(text)?.lang ?? null;
      assert.ok(lang === null || !DEFAULT_LANGUAGES.includes(lang), `${text} → ${lang}`);
    }
    assert.equal(chooseLanguage(detect('Wie ändere ich mein Passwort?'), 'ja,en;q=0.5', DEFAULT_LANGUAGES), 'ja');
  });

  test('a catalogue with French loads the model and tells French from English', async () => {
    const detect = await createDetector(['en', 'fr']);
    assert.equal(detect('Peux-tu me recommander un bon livre ?')?.lang, 'fr');
    assert.equal(detect('Can you recommend a good book?')?.lang, 'en');
  });
});

describe('Simplified vs Traditional Chinese', () => {
  test('the table has at least 150 pairs', () => {
    assert.ok(HAN_PAIR_COUNT >= 150, String(HAN_PAIR_COUNT));
  });

  test('by script-specific characters', () => {
    assert.equal(hanVariant('我们应该怎么办')?.lang, 'zh-Hans');
    assert.equal(hanVariant('我們應該怎麼辦')?.lang, 'zh-Hant');
    assert.equal(hanVariant('台灣的夜市很有名')?.lang, 'zh-Hant'); // 灣 (台 is shared)
    assert.equal(hanVariant('说話'), null); // one of each: undecided
    assert.equal(hanVariant('你好'), null);
    assert.equal(hanVariant('下雨了'), null);
  });

  test('Han text without a telling character is "zh", which resolves to zh-Hans or to Accept-Language', () => {
    assert.equal(detected('你好，下雨了'), 'zh');
    const zh = detectLanguage('你好，下雨了');
    assert.equal(chooseLanguage(zh, 'zh-TW,zh;q=0.9', DEFAULT_LANGUAGES), 'zh-Hant');
    assert.equal(chooseLanguage(zh, 'en-US', DEFAULT_LANGUAGES), 'zh-Hans');
    assert.equal(chooseLanguage(zh, undefined, DEFAULT_LANGUAGES), 'zh-Hans');
  });
});

describe('negotiate (Accept-Language)', () => {
  const supported = DEFAULT_LANGUAGES;
  const cases: [string | undefined, string | null][] = [
    [undefined, null],
    ['', null],
    ['*', null],
    ['ja', 'ja'],
    ['JA-jp', 'ja'],
    ['en-US,en;q=0.9', 'en'],
    ['zh-TW,zh;q=0.9,en;q=0.8', 'zh-Hant'],
    ['zh-HK', 'zh-Hant'],
    ['zh-MO', 'zh-Hant'],
    ['zh-Hant-TW', 'zh-Hant'],
    ['zh-CN,zh;q=0.9', 'zh-Hans'],
    ['zh-SG', 'zh-Hans'],
    ['zh', 'zh-Hans'],
    ['zh-Hans-CN', 'zh-Hans'],
    ['yue-HK', 'zh-Hant'],
    ['fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5', 'en'],
    ['de;q=0.9, vi;q=0.95', 'vi'],
    ['ko;q=0.5, ru;q=0.8, ar;q=0.7', 'ru'],
    ['ru;q=0.8, ar;q=0.8', 'ru'], // equal q: header order
    ['en;q=0, ja;q=0.1', 'ja'],
    ['ja;q=0, *', null],
    ['ar-EG', 'ar'],
    ['vi-VN,vi;q=0.9,fr-FR;q=0.8', 'vi'],
    ['fr, de', null],
    ['ko;q=2, ja', 'ja'], // an invalid q drops that range
    ['de-CH-x-phonebk, ru', 'ru'],
    ['garbage!!, ko', 'ko'],
  ];
  for (const [header, expected] of cases) {
    test(`${JSON.stringify(header)} → ${expected}`, () => {
      assert.equal(negotiate(header, supported), expected);
    });
  }

  test('Traditional ranges never fall back to Simplified (and bare zh is Simplified)', () => {
    assert.equal(negotiate('zh-TW', ['en', 'zh-Hans']), null);
    assert.equal(negotiate('zh-TW, zh;q=0.5', ['en', 'zh-Hans']), 'zh-Hans');
    assert.equal(negotiate('zh-CN', ['en', 'zh-Hant']), null);
  });

  test('an exact configured tag wins over the script mapping; tags come back as supported spells them', () => {
    assert.equal(negotiate('zh-TW', ['en', 'zh-Hant', 'zh-TW']), 'zh-TW');
    assert.equal(negotiate('pt-br', ['en', 'pt-BR']), 'pt-BR');
    assert.equal(negotiate('pt', ['en', 'pt-BR']), null); // lookup never expands a range
  });

  test('lookupChain and parseAcceptLanguage', () => {
    assert.deepEqual(lookupChain('zh-Hant-TW'), ['zh-hant-tw', 'zh-hant']);
    assert.deepEqual(lookupChain('zh-TW'), ['zh-tw', 'zh-hant']);
    assert.deepEqual(lookupChain('zh'), ['zh-hans', 'zh']);
    assert.deepEqual(lookupChain('de-CH-1996'), ['de-ch-1996', 'de-ch', 'de']);
    assert.deepEqual(lookupChain('en-a-bbb-x-ccc'), ['en-a-bbb-x-ccc', 'en-a-bbb', 'en']);
    assert.deepEqual(
      parseAcceptLanguage('da, en-gb;q=0.8, en;q=0.7, x;q=1.5'),
      [
        { range: 'da', q: 1 },
        { range: 'en-gb', q: 0.8 },
        { range: 'en', q: 0.7 },
      ],
    );
  });
});

describe('chooseLanguage', () => {
  test('detected and supported wins over the header', () => {
    assert.equal(chooseLanguage(detectLanguage('Làm sao để đổi mật khẩu?'), 'en-US', DEFAULT_LANGUAGES), 'vi');
  });
  test('detected but unsupported, or nothing detected: Accept-Language, then the fallback', () => {
    assert.equal(chooseLanguage(detectLanguage('Wie ändere ich mein Passwort?'), 'ja,en;q=0.5', DEFAULT_LANGUAGES), 'ja');
    assert.equal(chooseLanguage(null, 'ko-KR', DEFAULT_LANGUAGES), 'ko');
    assert.equal(chooseLanguage(null, 'de', DEFAULT_LANGUAGES), 'en');
    assert.equal(chooseLanguage(null, undefined, DEFAULT_LANGUAGES, 'ru'), 'ru');
  });
});

describe('catalogue data', () => {
  test('every ERROR_CATALOGUE code is there in all eight languages', () => {
    for (const code of ALL_CODES) {
      const entry = MESSAGE_DATA[code];
      assert.ok(entry !== undefined, `${code} missing from messages.json`);
      for (const lang of DEFAULT_LANGUAGES) assert.equal(typeof entry.messages[lang], 'string', `${code}.${lang}`);
    }
    assert.deepEqual(Object.keys(MESSAGE_DATA).sort(), [...ALL_CODES].sort(), 'no stray codes');
  });

  test('each language uses exactly the placeholders English uses, and they are documented', () => {
    for (const code of ALL_CODES) {
      const entry = MESSAGE_DATA[code]!;
      const english = placeholdersOf(entry.messages['en']!);
      assert.deepEqual(english, Object.keys(entry.placeholders).sort(), `${code}: placeholders documented`);
      for (const lang of DEFAULT_LANGUAGES) assert.deepEqual(placeholdersOf(entry.messages[lang]!), english, `${code}.${lang}`);
    }
  });

  test('script sanity: each language is written in its own script', () => {
    const scripts: Record<string, RegExp> = {
      'zh-Hans': /\p{Script=Han}/u,
      'zh-Hant': /\p{Script=Han}/u,
      ja: /[\p{Script=Hiragana}\p{Script=Katakana}]/u,
      ko: /\p{Script=Hangul}/u,
      ru: /\p{Script=Cyrillic}/u,
      ar: /\p{Script=Arabic}/u,
      vi: /[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]/iu,
    };
    for (const code of ALL_CODES) {
      const messages = MESSAGE_DATA[code]!.messages;
      for (const [lang, script] of Object.entries(scripts)) assert.match(messages[lang]!, script, `${code}.${lang}`);
      assert.equal(hanVariant(messages['zh-Hans']!)?.lang ?? 'zh-Hans', 'zh-Hans', `${code}.zh-Hans reads as Simplified`);
      assert.equal(hanVariant(messages['zh-Hant']!)?.lang ?? 'zh-Hant', 'zh-Hant', `${code}.zh-Hant reads as Traditional`);
    }
  });
});

describe('formatMessage', () => {
  const values = {
    model: 'llama3.2',
    deployment: 'node-5',
    retry_after_s: 7,
    limit: 600,
    param: 'messages',
    plugin: 'limit.key',
    scanner: 'pii',
    method: 'GET',
    path: '/v1/nope',
    allow: 'POST',
    timeout_s: 30,
    spend: '0.0123',
    max_budget: '0.01',
    content_type: 'text/plain',
    encoding: 'compress',
    max_depth: 128,
  };

  test('every code in every language fills its values and shows no template syntax', () => {
    for (const code of ALL_CODES) {
      for (const lang of DEFAULT_LANGUAGES) {
        const result = formatMessage(code, lang, values);
        assert.ok(result !== null, `${code}.${lang}`);
        assert.equal(result.lang, lang);
        assert.doesNotMatch(result.message, /[{}[\]#\\]|\s{2}/, `${code}.${lang}: ${result.message}`);
        for (const name of placeholdersOf(MESSAGE_DATA[code]!.messages['en']!)) {
          const value = String(values[name as keyof typeof values]);
          assert.ok(result.message.includes(value), `${code}.${lang} shows ${name}: ${result.message}`);
        }
      }
    }
  });

  test('without values: optional parts drop out cleanly; a required one makes it null', () => {
    for (const code of ALL_CODES) {
      for (const lang of DEFAULT_LANGUAGES) {
        const result = formatMessage(code, lang, {});
        if (code === 'SLUICE_MISSING_PARAM') {
          assert.equal(result, null);
          continue;
        }
        assert.ok(result !== null, `${code}.${lang}`);
        assert.doesNotMatch(result.message, /[{}[\]#`'"«»“”「」]|\s{2}|\(\s*\)|（）|\s[.。,，]/u, `${code}.${lang}: ${result.message}`);
      }
    }
  });

  test('per-language wording, word order and units', () => {
    const v = { model: 'gpt-x', retry_after_s: 5 };
    const rate = (lang: string, extra: Record<string, string | number> = {}) => formatMessage('SLUICE_RATE_LIMITED', lang, { ...v, ...extra })?.message;
    assert.equal(rate('en'), 'Rate limit exceeded for model `gpt-x`. Try again in 5 seconds.');
    assert.equal(rate('en', { retry_after_s: 1 }), 'Rate limit exceeded for model `gpt-x`. Try again in 1 second.');
    assert.equal(rate('zh-Hans'), '模型“gpt-x”的请求过于频繁，已超出速率限制。请在 5 秒后重试。');
    assert.equal(rate('zh-Hant'), '模型「gpt-x」的請求過於頻繁，已超出速率限制。請在 5 秒後重試。');
    assert.equal(rate('ja'), 'モデル「gpt-x」のリクエスト数が上限を超えました。5 秒後に再試行してください。');
    assert.equal(rate('ko'), "모델 'gpt-x'의 요청 한도를 초과했습니다. 5초 후에 다시 시도하십시오.");
    assert.equal(rate('vi'), "Đã vượt quá giới hạn tần suất yêu cầu cho mô hình 'gpt-x'. Vui lòng thử lại sau 5 giây.");
    assert.equal(rate('ru'), 'Превышен лимит запросов к модели «gpt-x». Повторить попытку можно через 5 секунд.');
    assert.equal(rate('ru', { retry_after_s: 1 }), 'Превышен лимит запросов к модели «gpt-x». Повторить попытку можно через 1 секунду.');
    assert.equal(rate('ru', { retry_after_s: 3 }), 'Превышен лимит запросов к модели «gpt-x». Повторить попытку можно через 3 секунды.');
    assert.equal(rate('ar'), 'تم تجاوز حد معدل الطلبات للنموذج «\u2068gpt-x\u2069». يُرجى إعادة المحاولة بعد 5 ثوانٍ.');
    assert.equal(rate('ar', { retry_after_s: 2 }), 'تم تجاوز حد معدل الطلبات للنموذج «\u2068gpt-x\u2069». يُرجى إعادة المحاولة بعد ثانيتين.');
    assert.equal(rate('ar', { retry_after_s: 30 }), 'تم تجاوز حد معدل الطلبات للنموذج «\u2068gpt-x\u2069». يُرجى إعادة المحاولة بعد 30 ثانية.');
    assert.equal(formatMessage('SLUICE_BODY_TOO_LARGE', 'ru', { limit: 10485760 })?.message, 'Тело запроса слишком велико (предел: 10\u00a0485\u00a0760 байт).');
    assert.equal(formatMessage('SLUICE_BODY_TOO_LARGE', 'en', { limit: 10485760 })?.message, 'The request body is too large (limit: 10,485,760 bytes).');
    assert.equal(formatMessage('SLUICE_MISSING_PARAM', 'ja', { param: 'model' })?.message, '必須パラメーター「model」が指定されていません。');
  });

  test('fallback chain: region and script subtags, Chinese regions, then English', () => {
    const at = (lang: string) => formatMessage('SLUICE_INTERNAL', lang, {})?.lang;
    assert.equal(at('zh-Hant-TW'), 'zh-Hant');
    assert.equal(at('zh-TW'), 'zh-Hant');
    assert.equal(at('zh-HK'), 'zh-Hant');
    assert.equal(at('zh-CN'), 'zh-Hans');
    assert.equal(at('zh'), 'zh-Hans');
    assert.equal(at('ja-JP'), 'ja');
    assert.equal(at('PT-br'), 'en');
    assert.equal(at('de-CH'), 'en');
    assert.equal(at('not a tag'), 'en');
    assert.equal(formatMessage('SLUICE_NO_SUCH_CODE', 'ja', {}), null);
  });

  test('null, undefined and empty values count as missing; numbers as strings still pick plural forms', () => {
    assert.equal(formatMessage('SLUICE_INVALID_PARAM', 'en', { param: null })?.message, 'The request contains an invalid value.');
    assert.equal(formatMessage('SLUICE_INVALID_PARAM', 'en', { param: '' })?.message, 'The request contains an invalid value.');
    assert.equal(formatMessage('SLUICE_RATE_LIMITED', 'ru', { retry_after_s: '21' })?.message, 'Превышен лимит запросов. Повторить попытку можно через 21 секунду.');
    assert.equal(formatMessage('SLUICE_RATE_LIMITED', 'en', { limit: '10r/s' })?.message, 'Rate limit exceeded (limit: 10r/s).');
  });
});

describe('overrides and added languages', () => {
  const overrides: MessageOverrides = {
    ja: { SLUICE_RATE_LIMITED: 'ただいま混み合っています。[{retry_after_s} 秒後に]もう一度お試しください。' },
    'pt-BR': {
      SLUICE_RATE_LIMITED: 'Limite de requisições excedido.[ Tente novamente em {retry_after_s, plural, one {# segundo} other {# segundos}}.]',
      SLUICE_MODEL_NOT_FOUND: 'O modelo `{model}` não existe.',
    },
    en: { SLUICE_CUSTOM_PLUGIN: 'Custom plugin says no[ to {who}].' },
  };

  test('an override replaces the data template for its language only', () => {
    assert.equal(formatMessage('SLUICE_RATE_LIMITED', 'ja', { retry_after_s: 3 }, overrides)?.message, 'ただいま混み合っています。3 秒後にもう一度お試しください。');
    assert.equal(formatMessage('SLUICE_RATE_LIMITED', 'ko', { retry_after_s: 3 }, overrides)?.message, '요청 한도를 초과했습니다. 3초 후에 다시 시도하십시오.');
    assert.equal(formatMessage('SLUICE_INTERNAL', 'ja', {}, overrides)?.message, 'ゲートウェイで内部エラーが発生しました。');
  });

  test('an added language, with its own plurals; codes it lacks fall back to English', () => {
    assert.deepEqual(formatMessage('SLUICE_RATE_LIMITED', 'pt-BR', { retry_after_s: 1 }, overrides), {
      message: 'Limite de requisições excedido. Tente novamente em 1 segundo.',
      lang: 'pt-BR',
    });
    assert.equal(formatMessage('SLUICE_RATE_LIMITED', 'pt-br', { retry_after_s: 4 }, overrides)?.message, 'Limite de requisições excedido. Tente novamente em 4 segundos.');
    assert.deepEqual(formatMessage('SLUICE_INTERNAL', 'pt-BR', {}, overrides), { message: 'Internal error in the gateway.', lang: 'en' });
    assert.ok(createCatalogue(overrides).languages.includes('pt-BR'));
    assert.equal(negotiate('pt-BR,pt;q=0.9', createCatalogue(overrides).languages), 'pt-BR');
  });

  test('a required value missing in the chosen language falls back along the chain', () => {
    // pt-BR's template needs {model}; English has it optional.
    assert.deepEqual(formatMessage('SLUICE_MODEL_NOT_FOUND', 'pt-BR', {}, overrides), {
      message: 'The model does not exist or you do not have access to it.',
      lang: 'en',
    });
  });

  test('a new code (a plugin of ours) can be added', () => {
    assert.equal(formatMessage('SLUICE_CUSTOM_PLUGIN', 'vi', { who: 'bob' }, overrides)?.message, 'Custom plugin says no to bob.');
  });

  test('the merge is done once per overrides object', () => {
    assert.equal(createCatalogue(overrides), createCatalogue(overrides));
    assert.equal(createCatalogue(), defaultCatalogue);
  });

  test('malformed overrides are refused with their path', () => {
    assert.throws(() => new Catalogue(MESSAGE_DATA, { ja: { SLUICE_INTERNAL: 'oops {model' } }), /overrides\.ja\.SLUICE_INTERNAL: missing "}"/);
    assert.throws(() => new Catalogue(MESSAGE_DATA, { 'not a tag': { SLUICE_INTERNAL: 'x' } }), /overrides\.not a tag: not a language tag/);
    assert.throws(() => new Catalogue(MESSAGE_DATA, { ko: { SLUICE_INTERNAL: 3 as unknown as string } }), /must be a string/);
  });
});

describe('templates', () => {
  test('syntax: escapes, nested optional parts, plural selectors', () => {
    const catalogue = new Catalogue({}, { en: { A: 'a \\[literal\\] \\{x\\}[ b[ {c}] {d}]', B: '{n, plural, =0 {none} one {# item} other {# items}}' } });
    assert.equal(catalogue.format('A', 'en', {})?.message, 'a [literal] {x}');
    assert.equal(catalogue.format('A', 'en', { d: 'D' })?.message, 'a [literal] {x} b D');
    assert.equal(catalogue.format('A', 'en', { c: 'C', d: 'D' })?.message, 'a [literal] {x} b C D');
    assert.equal(catalogue.format('B', 'en', { n: 0 })?.message, 'none');
    assert.equal(catalogue.format('B', 'en', { n: 1 })?.message, '1 item');
    assert.equal(catalogue.format('B', 'en', { n: 1200 })?.message, '1,200 items');
  });

  test('errors', () => {
    for (const bad of ['{', '{}', '{x', 'x}', '[x', 'x]', '{x, select, a {b}}', '{x, plural, one {#}}', '{x, plural, lots {#} other {#}}', 'trailing \\']) {
      assert.throws(() => parseTemplate(bad), TemplateError, bad);
    }
  });
});
