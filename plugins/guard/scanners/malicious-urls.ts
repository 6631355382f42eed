// malicious_urls: links in a model answer that look malicious. No network and no model: heuristics over each URL
// found in the text (http, https, ftp, javascript:, data:, and bare hosts such as "evil.tk/path").
//
// Evidence about one URL (the feature ids reported in the rule; weights in W below):
//   script_url(_weak)      javascript: / vbscript: (javascript:void(0) excepted); strong with alert, cookie, eval…
//   data_html, data_svg    active data: URLs (text/html, javascript, svg+xml); data:image/png and the like pass
//   userinfo_domain        "https://paypal.com@evil.io": a domain before the @, the real host hides after it
//   userinfo               credentials in an http(s) URL
//   obfuscated_ip          hosts written as one number or in hex/octal parts (http://3232235777/)
//   ip_host                a public IP literal instead of a name (private and loopback addresses are left alone)
//   mixed_script           a host label mixing Latin with Cyrillic or Greek, or made only of their Latin look-alikes
//   homograph              a Unicode or punycode label that reads as a brand ("аррӏе", xn--80ak6aa92e)
//   punycode               an "xn--" label, weak alone: a name in its own script (яндекс.рф) is no evidence
//   lookalike              a host token whose skeleton (see skeleton()) is a brand's, or one edit from a long one
//                          ("paypa1", "rnicrosoft", "steamcommunnity")
//   encoded_host, fake_slash  percent-encoding or a look-alike slash (U+2215 ∕) in the host
//   brand, brand_login     a brand name (paypal, apple, …) in a subdomain of another name or on a hosting platform;
//                          with "login", "verify" and the like. brand_service: in the registrable name with a
//                          service's word ("usps-tracking-info.com"); brand_lookalike: there alone ("apple-pie.com"),
//                          weak; brand_path: brand and login words in the path of another host
//   credential_host        two phishing words in the registrable name ("secure-account-update.com")
//   tld_in_subdomain       a TLD, or a TLD written with digits ("c0m"), as a label before the last one, so the host
//                          starts like a whole one ("paypal.com.session-check.net", "shop.c0m.top"), weak
//   credential_path        two login words in the path ("/account/login/verify") of a host with other evidence, weak
//   lure                   prize and gift words in the registrable name ("free-gift-card"), weak
//   risky_name             one phishing or service word in a name under a risky TLD ("delivery-track.xyz"), weak
//   tld_abused, tld_risky  free or much abused TLDs and those that pass for files (.tk .ml .ga .cf .gq .zip .mov);
//                          often abused ones (.xyz .top .icu …), weak
//   executable(_weak)      a download of a program or script (.exe .scr .apk .ps1 …; weak: .js .jar .dmg .sh …)
//   double_extension       "invoice.pdf.exe"
//   shortener              bit.ly and friends hide where the link goes (flags alone; allow_domains for your own)
//   encoded, long, deep_subdomain  heavy or needless percent-encoding, over 250 characters, six labels or more
//   deny_list              a host in `denyDomains` (1.0). A host in `allowDomains` is skipped whatever else it shows.
//
// Score: the evidence about one URL combines as 1 − Π(1 − w); the text scores as its worst URL, so several
// harmless short links do not add up to a malicious one. Matches are the URL spans in the original text, one per
// URL with any evidence, its rule the features found ("ip_host+executable"), strongest first.

import { domainToUnicode } from 'node:url';
import type { ScanMatch, ScanResult, Scanner } from '../types.ts';

export interface MaliciousUrlsOptions {
  /** Flag at this score. Default 0.5. */
  threshold?: number;
  /** Hosts (and their subdomains) that are never flagged. Wins over everything, the deny list included. */
  allowDomains?: readonly string[];
  /** Hosts (and their subdomains) that are always flagged. */
  denyDomains?: readonly string[];
}

export const MALICIOUS_URLS_DEFAULT_THRESHOLD = 0.5;

const W = {
  deny_list: 1,
  script_url: 0.9,
  script_url_weak: 0.7,
  data_html: 0.85,
  data_svg: 0.5,
  userinfo_domain: 0.85,
  userinfo: 0.3,
  obfuscated_ip: 0.85,
  ip_host: 0.55,
  mixed_script: 0.85,
  homograph: 0.9,
  lookalike: 0.8,
  punycode: 0.2,
  tld_in_subdomain: 0.45,
  credential_host: 0.6,
  lure: 0.35,
  risky_name: 0.3,
  brand: 0.6,
  brand_login: 0.8,
  brand_service: 0.6,
  brand_lookalike: 0.35,
  brand_path: 0.3,
  credential_path: 0.3,
  fake_slash: 0.85,
  encoded_host: 0.6,
  tld_abused: 0.5,
  tld_risky: 0.35,
  executable: 0.45,
  executable_weak: 0.2,
  double_extension: 0.85,
  shortener: 0.55,
  encoded: 0.35,
  long: 0.2,
  deep_subdomain: 0.2,
} as const;

type Feature = keyof typeof W;

// ---------------------------------------------------------------------------------------------------- tables

/** Free or much abused TLDs, and those that pass for file names ("update.zip", "clip.mov"). */
const ABUSED_TLDS = new Set(['tk', 'ml', 'ga', 'cf', 'gq', 'zip', 'mov']);
const RISKY_TLDS = new Set(
  'xyz top click country kim work men loan download racing review stream gdn icu cyou rest sbs cfd buzz monster quest bar bid win date party science trade accountant faith cricket webcam su lol mom beauty hair skin boats yachts autos makeup bond ooo'.split(' '),
);
/** TLDs accepted for a host written without scheme or "www." (others are too often file names or code). */
const BARE_TLDS = new Set(
  'com net org edu gov mil int io co ai app dev info biz me us uk de fr jp cn ru br in au ca es it nl se no ch pl eu tv ly gl be at dk fi cz kr vn tw hk sg nz za mx ar cl id my ph th tr ua ir il gr pt ro hu sk bg rs hr lt lv ee si is ie site online store shop tech cloud page link live news blog xyz top click tk ml ga cf gq icu cyou sbs cfd buzz monster quest work loan download win bid su рф рус 中国 中國 公司 网络 香港 台灣'.split(' '),
);
/** Bare TLDs that are also common file extensions: a bare host ending so needs a path, a port or "www.". */
const FILE_LIKE_TLDS = new Set('zip mov md py rs sh pl ml cc so ps ai ts js cs go rb sql ini log bak'.split(' '));
const SHORTENERS = new Set(
  'bit.ly bitly.com tinyurl.com t.co goo.gl ow.ly is.gd buff.ly cutt.ly rb.gy shorturl.at tiny.cc rebrand.ly t.ly s.id v.gd lnkd.in trib.al soo.gd qr.ae adf.ly shorte.st bc.vc x.co tiny.one u.to clck.ru urlz.fr'.split(' '),
);
/** Second-level labels under which a ccTLD registers names ("example.co.uk"). */
const SLD_UNDER_CC = new Set('co com net org gov edu ac or ne go gob mil nic ltd plc'.split(' '));
/** Platforms whose subdomains belong to different people (a public suffix, like a TLD). */
const HOSTING_SUFFIXES = new Set(
  'github.io gitlab.io blogspot.com herokuapp.com netlify.app vercel.app pages.dev web.app firebaseapp.com azurewebsites.net cloudfront.net workers.dev glitch.me 000webhostapp.com wixsite.com weebly.com ngrok.io ngrok-free.app r2.dev appspot.com s3.amazonaws.com repl.co onrender.com fly.dev'.split(' '),
);
/** Brand → its own registrable names (besides "<brand>.<any TLD not abused>"). */
const BRANDS = new Map<string, readonly string[]>([
  ['paypal', ['paypal.me', 'paypalobjects.com']],
  ['apple', ['icloud.com', 'apple.news', 'mzstatic.com']],
  ['icloud', ['apple.com']],
  ['microsoft', ['live.com', 'office.com', 'microsoftonline.com', 'outlook.com', 'azure.com', 'windows.net', 'msft.net', 'aka.ms', 'bing.com', 'sharepoint.com', 'office365.com']],
  ['office365', ['microsoft.com', 'office.com']],
  ['outlook', ['microsoft.com', 'live.com', 'office.com']],
  ['google', ['googleapis.com', 'gstatic.com', 'youtube.com', 'googleusercontent.com', 'withgoogle.com', 'goo.gl', 'g.co', 'gmail.com', 'google.dev', 'blogger.com']],
  ['gmail', ['google.com']],
  ['amazon', ['amazonaws.com', 'amzn.to', 'amazon.dev', 'a2z.com', 'media-amazon.com', 'ssl-images-amazon.com']],
  ['facebook', ['fb.com', 'fbcdn.net', 'meta.com', 'facebook.net']],
  ['instagram', ['cdninstagram.com', 'meta.com']],
  ['whatsapp', ['whatsapp.net', 'meta.com']],
  ['netflix', ['nflxext.com', 'nflximg.net']],
  ['linkedin', ['licdn.com', 'lnkd.in']],
  ['dropbox', ['dropboxusercontent.com', 'db.tt']],
  ['docusign', ['docusign.net']],
  ['adobe', ['adobelogin.com', 'typekit.net']],
  ['coinbase', []],
  ['binance', []],
  ['metamask', ['metamask.io']],
  ['chase', []],
  ['wellsfargo', ['wf.com']],
  ['bankofamerica', ['bofa.com']],
  ['citibank', ['citi.com']],
  ['hsbc', []],
  ['steamcommunity', ['steampowered.com']],
  ['steampowered', ['steamcommunity.com']],
  ['twitter', ['x.com', 't.co', 'twimg.com']],
  ['yahoo', ['yimg.com']],
  ['ebay', ['ebaystatic.com']],
  ['dhl', []],
  ['fedex', []],
  ['usps', []],
  ['irs', []],
  ['walmart', []],
  ['venmo', []],
  ['zelle', ['zellepay.com']],
  ['youtube', ['youtu.be', 'ytimg.com', 'googlevideo.com', 'youtube-nocookie.com', 'google.com']],
  ['github', ['github.io', 'githubusercontent.com', 'githubassets.com', 'github.dev']],
  ['gitlab', ['gitlab.io', 'gitlab.net']],
  ['tiktok', ['tiktokcdn.com', 'tiktokv.com']],
  ['discord', ['discord.gg', 'discordapp.com', 'discordapp.net', 'discord.media']],
  ['roblox', ['rbxcdn.com']],
  ['spotify', ['scdn.co', 'spotifycdn.com']],
  ['airbnb', []],
  // Brands phished in the other languages Sluice serves (zh, ja, ko, ru, vi, ar).
  ['alipay', ['alipayobjects.com', 'alibaba.com']],
  ['taobao', ['alicdn.com', 'tmall.com']],
  ['wechat', ['qq.com', 'weixin.qq.com']],
  ['weixin', ['qq.com', 'wechat.com']],
  ['baidu', ['bdstatic.com']],
  ['rakuten', ['rakuten.co.jp']],
  ['naver', ['pstatic.net']],
  ['kakao', ['kakaocorp.com', 'daum.net']],
  ['yandex', ['ya.ru', 'yandex.net']],
  ['sberbank', ['sber.ru']],
  ['gosuslugi', []],
  ['vietcombank', []],
  ['alrajhi', ['alrajhibank.com.sa']],
  ['telegram', ['t.me', 'telegram.org']],
]);
const BRAND_IN_PATH = new RegExp([...BRANDS.keys()].filter((b) => b.length >= 4).join('|'));
const BRAND_DOT_COMS = [...BRANDS.keys()].map((b) => `${b}.com`);
/** Brand names that are also ordinary words one letter from another ("binance" / "finance"): compared exactly. */
const NEAR_WORDS = new Set(['finance', 'amazing', 'goggle', 'googly', 'chaise', 'ample', 'maple', 'twister', 'telegraf', 'youtuber']);
/**
 * Words of a phishing host's own name ("secure-account-verify.com"): two of them in the registrable name. With
 * the romanised words for login, account, verify and security in the languages Sluice serves (vi "dangnhap",
 * "xacthuc"; zh "denglu", "yanzheng"; ru "vhod", "akkaunt"; ko "injeung").
 */
const HARVEST_WORDS = new Set(
  'login logon signin signon verify verification validate account accounts secure security update auth authentication password unlock confirm recovery restore webscr billing wallet suspended alert session check online banking bank customer refund payment payments invoice helpdesk support service services id myaccount dangnhap xacthuc taikhoan baomat capnhat denglu yanzheng zhanghao anquan vhod voiti akkaunt proverka podtverdit injeung gyejeong'.split(' '),
);
/** A service's words next to a brand in another's name ("usps-tracking-info", "fedex-delivery"): not "apple-pie". */
const SERVICE_WORDS = new Set(
  'tracking track delivery parcel package shipping shipment post online pay payment otp card cards mail webmail portal center centre help helpdesk care customer customers service services app web docs drive share cloud refund rewards reward bonus gift gifts business official team notice notification premium prime plus'.split(' '),
);
/** Lures in a host name: prizes, gifts, free downloads, urgent notices. */
const LURE_WORDS = new Set('free gift gifts prize prizes winner win claim reward rewards bonus airdrop giveaway lucky promo crack keygen cheap urgent refund crypto nft'.split(' '));
/** Labels that are TLDs or TLD-like: in a subdomain ("paypal.com.evil.io") they make another host's name look real. */
const TLD_LABELS = new Set('com net org gov edu co ru de uk jp cn kr vn fr br in io'.split(' '));
/** Words of a login page's path ("/account/login/verify", "/dangnhap/xacthuc"): two of them make one. */
const PATH_LOGIN_WORDS = new Set(
  'login logon signin signon verify verification validate account accounts password unlock confirm secure security auth authenticate authentication webscr billing wallet recovery restore suspended session dangnhap xacthuc taikhoan denglu yanzheng zhanghao vhod voiti akkaunt injeung'.split(' '),
);
/** Latin look-alikes of Cyrillic and Greek letters, and digits and letter pairs read as letters, for skeletons. */
const SKELETON_MAP = new Map<string, string>([
  ...[...'аеорсухкмнтвіјѕԁһӏԛԝ'].map((c, i): [string, string] => [c, 'aeopcyxkmhtbljsdhlqw'[i]!]),
  ...[...'αεορτυνικχγω'].map((c, i): [string, string] => [c, 'aeoptuvlkxyw'[i]!]),
  ['0', 'o'], ['1', 'l'], ['3', 'e'], ['4', 'a'], ['5', 's'], ['7', 't'], ['8', 'b'], ['i', 'l'], ['|', 'l'],
]);
/** Words that, next to a brand in a host, make a credential-phishing page likely. */
const LOGIN_WORDS = new Set(
  'login logon signin sign verify verification account accounts secure security update auth authentication password unlock confirm recovery webscr billing wallet support service id appleid myaccount suspended alert dangnhap xacthuc taikhoan baomat denglu yanzheng zhanghao vhod akkaunt injeung'.split(' '),
);

const EXE_HIGH = new Set('exe scr bat cmd ps1 psm1 vbs vbe hta wsf wsh msi msix apk lnk dll pif cpl jse reg application appx xapk'.split(' '));
const EXE_LOW = new Set('js jar dmg pkg iso img deb rpm sh appimage'.split(' '));
const DOUBLE_EXT = /\.(?:pdf|docx?|xlsx?|pptx?|jpe?g|png|gif|txt|rtf|zip|rar|mp3|mp4|avi|mov|csv|html?)\.(?:exe|scr|bat|cmd|js|vbs|hta|lnk|pif|com|jar|msi|ps1)$/;

/**
 * Finding URLs: a regex with Unicode letter classes over the whole text costs over 100 µs on 4 KB, so the scan
 * looks for cheap seeds instead and grows each one by hand. Seeds are scheme prefixes ("https://", "javascript:",
 * "data:") and a dot between two host characters ("evil.tk"); a bare host does not start inside a word or after
 * "@", ".", "/", "\" or ":", so e-mail domains and file paths are not taken for links.
 */
const SCHEME_SEED = /\b(?:https?|ftps?|sftp):\/\/|\b(?:javascript|vbscript|livescript|data):/gi;
const DOT_SEED = /[A-Za-z0-9\u00c0-\u024f\u0370-\u03ff\u0400-\u052f\u0600-\u06ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3]\.[A-Za-z0-9\u00c0-\u024f\u0370-\u03ff\u0400-\u052f\u0600-\u06ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3]/g;
const DATA_URL = /data:[\w.+-]+\/[\w.+-]+[;,]/iy;
/** Punctuation that ends a sentence or a markup span rather than a URL. */
const TRAIL = new Uint8Array(128);
for (const c of `.,;:!?'"*_~]}>`) TRAIL[c.charCodeAt(0)] = 1;
/** Characters that end a URL in text. */
const URL_STOP = new Uint8Array(128);
for (const c of ' \t\n\r\f\v<>"\'`{}|\\^') URL_STOP[c.charCodeAt(0)] = 1;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
/** One number, or dotted parts in hex or with leading zeros: hosts browsers read as an IP address. */
const IP_TRICK = /^(?:\d{8,10}|0x[0-9a-f]{1,8}|(?:(?:0x[0-9a-f]{1,2}|0[0-7]{1,3}|\d{1,3})\.){1,3}(?:0x[0-9a-f]{1,8}|0[0-7]{1,11}|\d{1,10}))$/i;
const PERCENT = /%[0-9a-f]{2}/gi;
/** Percent-encoded letters and digits, which never need encoding: obfuscation. */
const PERCENT_UNRESERVED = /%(?:3[0-9]|4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a])/gi;
const LATIN = /[a-z]/;
const CYRILLIC_GREEK = /[\u0370-\u03ff\u0400-\u052f]/;
const OTHER_LETTER = /[^\u0000-\u024f\u0370-\u03ff\u0400-\u052f\d-]/u;
/** Cyrillic and Greek letters that pass for Latin ones in a host name. */
const LOOKALIKE_ONLY = /^[\u0430\u0441\u0435\u043e\u0440\u0445\u0443\u0456\u0458\u0455\u0501\u04bb\u04cf\u051b\u051d\u043a\u0432\u043c\u043d\u0442\u03bf\u03b1\u03b5\u03b9\u03ba\u03bd\u03c1\u03c4\u03c5\u03c7\u03b3\u03c9\d-]+$/;

// ---------------------------------------------------------------------------------------------------- helpers

/**
 * What a host label looks like to a reader: accents dropped, Cyrillic/Greek look-alikes and digits as the Latin
 * letters they pass for, "rn" as "m", "vv" as "w", "cl" as "d", and "i" and "1" as "l" (so "paypa1", "rnicrosoft",
 * "аpple", "discorcl" and "netfIix" read as their brands).
 */
function skeleton(label: string): string {
  let out = '';
  if (ASCII_LABEL.test(label)) {
    for (let i = 0; i < label.length; i++) out += ASCII_SKELETON[label.charCodeAt(i)]!;
  } else {
    for (const c of label.normalize('NFKD')) {
      const code = c.charCodeAt(0);
      if (code >= 0x300 && code <= 0x36f) continue;
      out += SKELETON_MAP.get(c) ?? c;
    }
  }
  return out.includes('rn') || out.includes('vv') || out.includes('cl') ? out.replace(/rn/g, 'm').replace(/vv/g, 'w').replace(/cl/g, 'd') : out;
}

const ASCII_LABEL = /^[\x00-\x7f]*$/;
/** SKELETON_MAP for ASCII, as a table. */
const ASCII_SKELETON: string[] = [];
for (let c = 0; c < 128; c++) ASCII_SKELETON.push(SKELETON_MAP.get(String.fromCharCode(c)) ?? String.fromCharCode(c));

const BRAND_SKELETONS = new Map<string, string>();
/** Brands long enough for a one-edit typo to be telling, with their skeletons. */
/** TLD labels as their skeletons, so "c0m" reads as "com". */
const TLD_SKELETONS = new Set([...TLD_LABELS].map((t) => skeleton(t)));
const LONG_BRANDS: { brand: string; skeleton: string }[] = [];
for (const brand of BRANDS.keys()) {
  if (brand.length >= 4) BRAND_SKELETONS.set(skeleton(brand), brand);
  if (brand.length >= 6) LONG_BRANDS.push({ brand, skeleton: skeleton(brand) });
}

/** `a` and `b` differ by one edit: a letter added, dropped, changed, or two neighbours swapped. */
function oneEditApart(a: string, b: string): boolean {
  if (a === b || Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

/** Tokens already judged (hosts repeat within an answer and across a stream's windows); cleared when full. */
const IMITATED = new Map<string, string | null>();

/** The brand a token imitates without being it ("paypa1", "arnazon", "steamcommunnity"), if any. */
function imitatedBrand(token: string): string | undefined {
  if (token.length < 4 || BRANDS.has(token) || NEAR_WORDS.has(token)) return undefined;
  const known = IMITATED.get(token);
  if (known !== undefined) return known ?? undefined;
  const sk = skeleton(token);
  let found = BRAND_SKELETONS.get(sk);
  if (found === undefined && token.length >= 6) {
    for (const b of LONG_BRANDS) {
      if (Math.abs(b.skeleton.length - sk.length) <= 1 && oneEditApart(sk, b.skeleton)) {
        found = b.brand;
        break;
      }
    }
  }
  if (IMITATED.size >= 1024) IMITATED.clear();
  IMITATED.set(token, found ?? null);
  return found;
}

/** A character of a host label: ASCII letter or digit, or a letter of another script (punctuation excluded). */
function isHostChar(c: number): boolean {
  if (c < 0x80) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
  if (c < 0xc0 || c === 0xd7 || c === 0xf7) return false;
  return !((c >= 0x2000 && c <= 0x2bff) || (c >= 0x3000 && c <= 0x303f) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff20) || c === 0xfeff || (c >= 0xd800 && c <= 0xdfff));
}

function isUrlChar(c: number): boolean {
  return c >= 128 ? c !== 0x3000 && c !== 0x2028 && c !== 0x2029 && c !== 0xa0 : URL_STOP[c] === 0 && c > 32;
}

/** A domain from config: lower case, no scheme, path, port, "*." or trailing dot. Throws when it is not a host name. */
function normalizeDomain(raw: unknown, option: string): string {
  if (typeof raw !== 'string') throw new Error(`malicious_urls: ${option} entries must be strings`);
  let d = raw.trim().toLowerCase();
  d = d.replace(/^[a-z][a-z0-9+.-]*:\/\//, '').replace(/[/?#].*$/, '').replace(/:\d+$/, '').replace(/^\*\./, '').replace(/\.$/, '');
  if (d.length === 0 || d.length > 253 || !/^(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*$/u.test(d)) {
    throw new Error(`malicious_urls: ${option}: "${raw}" is not a domain name`);
  }
  return d;
}

/** `host` is `domain` or one of its subdomains. */
function within(host: string, domains: readonly string[]): boolean {
  for (const d of domains) {
    if (host === d || (host.length > d.length && host.endsWith(d) && host.charCodeAt(host.length - d.length - 1) === 46)) return true;
  }
  return false;
}

/** The registrable part of a host name: "evil.io" for "paypal.com.evil.io", "example.co.uk", "me.github.io". */
function registrable(labels: readonly string[]): string {
  const n = labels.length;
  if (n <= 2) return labels.join('.');
  const last2 = `${labels[n - 2]}.${labels[n - 1]}`;
  const last3 = `${labels[n - 3]}.${last2}`;
  if (HOSTING_SUFFIXES.has(last2) || HOSTING_SUFFIXES.has(last3)) {
    return labels.slice(HOSTING_SUFFIXES.has(last3) ? n - 4 : n - 3).join('.');
  }
  if (labels[n - 1]!.length === 2 && SLD_UNDER_CC.has(labels[n - 2]!)) return last3;
  return last2;
}

function isPrivateIpv4(a: number, b: number): boolean {
  return a === 10 || a === 127 || a === 0 || (a === 192 && b === 168) || (a === 172 && b >= 16 && b <= 31) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127);
}

/** Script trouble in one host label: mixed Latin with Cyrillic/Greek, or all Cyrillic/Greek look-alikes. */
function labelScriptTrouble(label: string, latinTld: boolean): boolean {
  const hasLatin = LATIN.test(label);
  const hasCg = CYRILLIC_GREEK.test(label);
  if (hasLatin && hasCg) return true;
  if (hasLatin && OTHER_LETTER.test(label)) return true;
  return hasCg && latinTld && LOOKALIKE_ONLY.test(label);
}

// ---------------------------------------------------------------------------------------------------- analysis

interface Evidence {
  features: Feature[];
  score: number;
}

function add(e: Evidence, f: Feature): void {
  if (e.features.includes(f)) return;
  e.features.push(f);
  e.score = 1 - (1 - e.score) * (1 - W[f]);
}

/** What a host showed (its features, or null when allow-listed); one per scanner, as the lists are. */
type HostCache = Map<string, Feature[] | null>;

/**
 * analyseHost through the scanner's cache: an answer names the same hosts again, and a stream's overlapping
 * windows read each URL several times. Cleared when full.
 */
function analyseHostCached(e: Evidence, host: string, allow: readonly string[], deny: readonly string[], cache: HostCache, open: boolean): boolean {
  const key = open ? `${host}#open` : host;
  const known = cache.get(key);
  if (known === null) return false;
  if (known !== undefined) {
    for (const f of known) add(e, f);
    return true;
  }
  const own: Evidence = { features: [], score: 0 };
  const kept = analyseHost(own, host, allow, deny, open);
  if (cache.size >= 1024) cache.clear();
  cache.set(key, kept ? own.features : null);
  if (kept) for (const f of own.features) add(e, f);
  return kept;
}

/**
 * Host analysis shared by scheme URLs and bare hosts. Returns false when the host is allow-listed. `open`: the host
 * ends the text, so its last label may be a word cut short rather than the TLD (a stream's window ends where a
 * chunk ends: "https://accounts.google" before ".com/signin" arrives), and a brand there is not taken for one in
 * another's name. A TLD is still read as one: a cut that leaves ".ga" of ".garmin.com" is rarer than "evil.tk" last.
 */
function analyseHost(e: Evidence, hostRaw: string, allow: readonly string[], deny: readonly string[], open: boolean): boolean {
  let host = hostRaw.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.includes('%')) {
    add(e, 'encoded_host');
    try {
      host = decodeURIComponent(host);
    } catch {
      // keep as is
    }
  }
  if (host.startsWith('[')) {
    // IPv6 literal.
    const inner = host.slice(1, host.indexOf(']') > 0 ? host.indexOf(']') : host.length);
    if (allow.length > 0 && within(inner, allow)) return false;
    if (inner !== '::1' && !inner.startsWith('fe80') && !inner.startsWith('fc') && !inner.startsWith('fd')) add(e, 'ip_host');
    return true;
  }
  if (allow.length > 0 && within(host, allow)) return false;
  if (deny.length > 0 && within(host, deny)) add(e, 'deny_list');
  if (host.includes('\u2215') || host.includes('\u2044') || host.includes('\uff0f')) add(e, 'fake_slash');

  const v4 = IPV4.exec(host);
  if (v4 !== null) {
    const a = Number(v4[1]);
    const b = Number(v4[2]);
    if (a > 255 || b > 255 || Number(v4[3]) > 255 || Number(v4[4]) > 255) return true;
    if (/(?:^|\.)0\d/.test(host)) add(e, 'obfuscated_ip');
    else if (!isPrivateIpv4(a, b)) add(e, 'ip_host');
    return true;
  }
  if (IP_TRICK.test(host)) {
    add(e, 'obfuscated_ip');
    return true;
  }

  const labels = host.split('.');
  const tld = labels[labels.length - 1]!;
  const latinTld = !CYRILLIC_GREEK.test(tld) && !OTHER_LETTER.test(tld);
  if (ABUSED_TLDS.has(tld)) add(e, 'tld_abused');
  else if (RISKY_TLDS.has(tld)) add(e, 'tld_risky');
  if (labels.length >= 6) add(e, 'deep_subdomain');

  // Scripts: the labels as written, and punycode labels decoded.
  let punycode = false;
  for (const label of labels) {
    if (label.startsWith('xn--')) punycode = true;
    else if (label.charCodeAt(0) >= 0x80 || /[^\x00-\x7f]/.test(label)) {
      if (labelScriptTrouble(label, latinTld)) add(e, 'mixed_script');
    }
  }
  // Labels as a reader sees them: punycode decoded. One that reads as a brand without being it is a homograph.
  let shown = labels;
  if (punycode) {
    // Alone, an "xn--" label is just a name in another script (яндекс.рф); what it decodes to is the evidence.
    add(e, 'punycode');
    const decoded = domainToUnicode(host);
    if (decoded.length > 0) {
      shown = decoded.split('.');
      const dTld = shown[shown.length - 1]!;
      const dLatinTld = !CYRILLIC_GREEK.test(dTld) && !OTHER_LETTER.test(dTld);
      for (const label of shown) if (labelScriptTrouble(label, dLatinTld)) add(e, 'mixed_script');
    }
  }
  for (const label of shown) {
    if (!/[^\x00-\x7f]/.test(label)) continue;
    for (const token of label.split('-')) {
      if (BRANDS.has(skeleton(token)) || imitatedBrand(token) !== undefined) add(e, 'homograph');
    }
  }

  const reg = registrable(labels);
  if (SHORTENERS.has(reg) || SHORTENERS.has(host)) add(e, 'shortener');
  const firstReg = labels.length - reg.split('.').length;
  // "paypal.com.evil.io": a TLD as a subdomain label makes the start of the host read like a whole one. Not "www".
  // So does a TLD written with digits ("shop.c0m.top"), and a TLD as the registrable label after a name under a
  // generic TLD ("weixin.com.top"); under a country's ("id.in.th", "x.co.ke") it is that country's second level.
  for (let k = 1; k <= firstReg && k < labels.length - 1; k++) {
    const literal = TLD_LABELS.has(labels[k]!);
    if ((literal && (k < firstReg || tld.length > 2)) || (!literal && TLD_SKELETONS.has(skeleton(labels[k]!)))) {
      add(e, 'tld_in_subdomain');
      break;
    }
  }
  // The registrable name itself: a brand imitated ("paypa1-secure"), a phishing page's own vocabulary
  // ("secure-account-update"), lures ("free-gift-card").
  let harvest = 0;
  let service = false;
  for (const token of reg.split('.')[0]!.split('-')) {
    // A bank's name counts as one ("sacombank-dangnhap", "mybank-secure").
    if (HARVEST_WORDS.has(token) || (token.length > 4 && token.endsWith('bank'))) harvest++;
    else if (SERVICE_WORDS.has(token)) service = true;
    if (LURE_WORDS.has(token)) add(e, 'lure');
  }
  if (harvest >= 2) add(e, 'credential_host');
  // On a TLD phishers favour, one such word is enough ("delivery-track.xyz", "login-portal.top").
  else if ((harvest === 1 || service) && (RISKY_TLDS.has(tld) || ABUSED_TLDS.has(tld))) add(e, 'risky_name');
  for (let k = 0; k < labels.length - 1; k++) {
    for (const token of labels[k]!.split('-')) {
      if (/^[a-z0-9]+$/.test(token) && imitatedBrand(token) !== undefined) add(e, 'lookalike');
    }
  }

  // Brands anywhere in the host but in their own registrable name. In a subdomain of another name
  // ("paypal.com.evil.io") or next to a login word it is phishing's signature; in the registrable name alone
  // ("apple-pie-recipes.com") it may be an ordinary word, and counts little.
  const regLabels = reg.split('.');
  const regLabel = regLabels[0]!;
  const firstRegIndex = labels.length - regLabels.length;
  let brand: string | undefined;
  let inSubdomain = false;
  let login = false;
  let serviceNextToBrand = false;
  for (let k = 0; k < labels.length - (open ? 1 : 0); k++) {
    for (const token of labels[k]!.split('-')) {
      if (LOGIN_WORDS.has(token)) login = true;
      else if (k >= firstRegIndex && SERVICE_WORDS.has(token)) serviceNextToBrand = true;
      let found: string | undefined = BRANDS.has(token) ? token : undefined;
      if (found === undefined && token.length > 4) {
        for (const b of BRANDS.keys()) {
          if (token.length <= b.length || !(token.startsWith(b) || token.endsWith(b))) continue;
          const rest = token.startsWith(b) ? token.slice(b.length) : token.slice(0, token.length - b.length);
          if (LOGIN_WORDS.has(rest)) login = true;
          if (LOGIN_WORDS.has(rest) || /^\d+$/.test(rest)) found = b;
        }
      }
      if (found !== undefined) {
        brand ??= found;
        if (k < firstRegIndex) inSubdomain = true;
      }
    }
  }
  if (brand !== undefined) {
    // On a hosting platform ("paypal.web.app") the brand's label is a subdomain anyone could have taken.
    const hosted = regLabels.length > 2 && !SLD_UNDER_CC.has(regLabels[1]!);
    if (hosted) inSubdomain = true;
    const own =
      (regLabel === brand && !ABUSED_TLDS.has(tld) && !RISKY_TLDS.has(tld) && (!hosted || reg.endsWith('.github.io') || reg.endsWith('.gitlab.io'))) ||
      within(host, BRANDS.get(brand)!);
    if (!own) add(e, login ? 'brand_login' : inSubdomain ? 'brand' : serviceNextToBrand ? 'brand_service' : 'brand_lookalike');
  }
  return true;
}

/** Path and query analysis: downloads, encoding, length, brand-plus-login paths on other hosts. */
function analysePath(e: Evidence, url: string, pathStart: number, host: string): void {
  if (url.length > 250) add(e, 'long');
  if (pathStart < 0 || pathStart >= url.length) return;
  const path = url.slice(pathStart);
  if (path.includes('%')) {
    PERCENT.lastIndex = 0;
    let count = 0;
    while (PERCENT.exec(path) !== null) count++;
    PERCENT_UNRESERVED.lastIndex = 0;
    let unreserved = 0;
    while (PERCENT_UNRESERVED.exec(path) !== null) unreserved++;
    if ((count >= 12 && count * 3 >= path.length * 0.3) || unreserved >= 6) add(e, 'encoded');
  }
  // The last segment of the path, before any query or fragment.
  let end = path.length;
  const q = path.search(/[?#]/);
  if (q >= 0) end = q;
  const slash = path.lastIndexOf('/', end - 1);
  const segment = path.slice(slash + 1, end).toLowerCase();
  const dot = segment.lastIndexOf('.');
  if (dot > 0) {
    const ext = segment.slice(dot + 1);
    if (DOUBLE_EXT.test(segment)) add(e, 'double_extension');
    else if (EXE_HIGH.has(ext)) add(e, 'executable');
    else if (EXE_LOW.has(ext)) add(e, 'executable_weak');
  }
  if (host.length > 0) {
    const lower = path.toLowerCase();
    // A login page's path ("/account/login/verify"): evidence only on a host that already shows some (a risky TLD,
    // a look-alike label); on an ordinary host it is the site's own login page.
    const words = new Set<string>();
    for (const token of lower.slice(0, end).split(/[^a-z0-9]+/)) if (PATH_LOGIN_WORDS.has(token)) words.add(token);
    if (words.size >= 2 && e.score > 0) add(e, 'credential_path');
    if (BRAND_IN_PATH.test(lower) && /(?:log-?in|sign-?in|verify|webscr|account|password|secure|unlock|confirm)/.test(lower) && !within(host, BRAND_DOT_COMS)) {
      add(e, 'brand_path');
    }
  }
}

function analyseUrl(url: string, allow: readonly string[], deny: readonly string[], cache: HostCache, atTextEnd: boolean): Evidence | undefined {
  const e: Evidence = { features: [], score: 0 };
  const lower = url.slice(0, 16).toLowerCase();
  if (lower.startsWith('javascript:') || lower.startsWith('vbscript:') || lower.startsWith('livescript:')) {
    const body = url.slice(url.indexOf(':') + 1).trim();
    if (/^(?:void\s*\(\s*0\s*\)|void 0|;|)\s*;?$/i.test(body)) return undefined;
    add(e, /(?:alert|prompt|confirm|eval|atob|fetch|document\.|window\.|location|cookie|fromcharcode|xmlhttprequest|import\(|src=|\\x|%[0-9a-f]{2})/i.test(body) ? 'script_url' : 'script_url_weak');
    return e;
  }
  if (lower.startsWith('data:')) {
    // The media type, up to its parameters or the payload ("data:text/html," may have lost its comma to trimming).
    const sep = url.search(/[;,]/);
    const mime = url.slice(5, sep < 0 ? url.length : sep).toLowerCase();
    if (mime === 'text/html' || mime === 'application/xhtml+xml' || mime.includes('javascript') || mime === 'application/x-msdownload' || mime === 'application/hta') add(e, 'data_html');
    else if (mime === 'image/svg+xml' || mime === 'application/octet-stream') add(e, 'data_svg');
    return e.score > 0 ? e : undefined;
  }
  const scheme = url.indexOf('://');
  const authorityStart = scheme >= 0 ? scheme + 3 : 0;
  let authorityEnd = url.length;
  for (let i = authorityStart; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 || c === 63 || c === 35 || c === 92) {
      authorityEnd = i;
      break;
    }
  }
  const authority = url.slice(authorityStart, authorityEnd);
  const at = authority.lastIndexOf('@');
  let hostPort = authority;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    hostPort = authority.slice(at + 1);
    if (/[\p{L}\p{N}-]\.[\p{L}]{2,}/u.test(userinfo)) add(e, 'userinfo_domain');
    else if (scheme >= 0 && url.slice(0, scheme).toLowerCase().startsWith('http')) add(e, 'userinfo');
  }
  let host = hostPort;
  if (!host.startsWith('[')) {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) host = host.slice(0, colon);
  }
  if (host.length === 0) return undefined;
  if (!analyseHostCached(e, host, allow, deny, cache, atTextEnd && authorityEnd === url.length && host === hostPort)) return undefined;
  analysePath(e, url, authorityEnd, host.toLowerCase());
  return e.score > 0 ? e : undefined;
}

/** Trims what a URL in prose is usually followed by: punctuation, a closing bracket it did not open. */
function trimUrl(text: string, start: number, end: number): number {
  // Bracket balance of the whole candidate, counted once: a ")" stays only when the URL opened one
  // ("wiki/Foo_(bar)").
  let balance = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 40) balance++;
    else if (c === 41) balance--;
  }
  let e = end;
  while (e > start) {
    const c = text.charCodeAt(e - 1);
    if (c === 41) {
      if (balance >= 0) break;
      balance++;
      e--;
    } else if (TRAIL[c] === 1) e--;
    else break;
  }
  return e;
}

/** Where a URL starting with a scheme at `start` ends (before trimming). */
function schemeUrlEnd(text: string, start: number, scriptUrl: boolean): number {
  let e = start;
  while (e < text.length) {
    const c = text.charCodeAt(e);
    // javascript: payloads may hold braces and pipes; other URLs end there.
    if (!isUrlChar(c) && !(scriptUrl && (c === 123 || c === 125 || c === 124 || c === 94))) break;
    e++;
  }
  return e;
}

/**
 * A bare host around the dot seed at `dot` (the "." index): [start, hostEnd, end), with start −1 when the text
 * there is not a host (end then says where its run of host characters ends, so that the scan skips it whole).
 * The host must be dotted labels ending in a TLD of letters; a port and a path may follow.
 */
function bareUrlAt(text: string, dot: number): { start: number; hostEnd: number; end: number } {
  let s = dot;
  while (s > 0) {
    const c = text.charCodeAt(s - 1);
    if (isHostChar(c) || c === 45 || c === 46) s--;
    else break;
  }
  let h = dot + 1;
  while (h < text.length) {
    const c = text.charCodeAt(h);
    if (isHostChar(c) || c === 45 || c === 46) h++;
    else break;
  }
  const reject = { start: -1, hostEnd: h, end: h };
  const before = s > 0 ? text.charCodeAt(s - 1) : 32;
  // Not after "@" (e-mail), "/" or "\" (a path), ":" (a scheme or drive), "_" (an identifier).
  if (before === 64 || before === 47 || before === 92 || before === 58 || before === 95) return reject;
  while (s < dot && !isHostChar(text.charCodeAt(s))) s++;
  while (h > dot + 1 && !isHostChar(text.charCodeAt(h - 1))) h--;
  if (h < text.length) {
    const c = text.charCodeAt(h);
    if (c === 64 || c === 95) return reject;
  }
  // Labels: no empty label, TLD of two letters or more starting with a letter (or an IPv4 address).
  const lastDot = text.lastIndexOf('.', h - 1);
  if (lastDot < s || h - lastDot - 1 < 1) return reject;
  for (let i = s + 1; i < h; i++) if (text.charCodeAt(i) === 46 && text.charCodeAt(i - 1) === 46) return reject;
  let e = h;
  if (e < text.length && text.charCodeAt(e) === 58) {
    let p = e + 1;
    while (p < text.length && text.charCodeAt(p) >= 48 && text.charCodeAt(p) <= 57) p++;
    if (p - e - 1 >= 2 && p - e - 1 <= 5) e = p;
  }
  if (e < text.length) {
    const c = text.charCodeAt(e);
    if (c === 47 || c === 63 || c === 35) while (e < text.length && isUrlChar(text.charCodeAt(e))) e++;
  }
  return { start: s, hostEnd: h, end: e };
}

export function createMaliciousUrlsScanner(options: MaliciousUrlsOptions = {}): Scanner {
  const threshold = options.threshold ?? MALICIOUS_URLS_DEFAULT_THRESHOLD;
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) throw new Error('malicious_urls: threshold must be in (0, 1]');
  if (options.allowDomains !== undefined && !Array.isArray(options.allowDomains)) throw new Error('malicious_urls: allowDomains must be an array');
  if (options.denyDomains !== undefined && !Array.isArray(options.denyDomains)) throw new Error('malicious_urls: denyDomains must be an array');
  const allow = (options.allowDomains ?? []).map((d) => normalizeDomain(d, 'allowDomains'));
  const deny = (options.denyDomains ?? []).map((d) => normalizeDomain(d, 'denyDomains'));
  const hosts: HostCache = new Map();

  return {
    name: 'malicious_urls',
    scan(text: string): ScanResult {
      const matches: ScanMatch[] = [];
      if (text.length < 4) return { score: 0, flagged: false, matches };
      let score = 0;
      const consider = (start: number, end: number, url: string): void => {
        // At the end of the text, or before a last ".", a stream's window may have cut the host short.
        const e = analyseUrl(url, allow, deny, hosts, end === text.length || (end === text.length - 1 && text.charCodeAt(end) === 46));
        if (e === undefined) return;
        if (e.score > score) score = e.score;
        const features = e.features.slice().sort((a, b) => W[b] - W[a]);
        matches.push({ rule: features.join('+'), start, end });
      };

      // URLs with a scheme; their spans are remembered so that the bare-host pass skips them.
      let covered: number[] | undefined;
      SCHEME_SEED.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = SCHEME_SEED.exec(text)) !== null) {
        const start = m.index;
        const first = text.charCodeAt(start) | 32;
        if (first === 100) {
          // data: needs a media type.
          DATA_URL.lastIndex = start;
          if (!DATA_URL.test(text)) continue;
        }
        const end = trimUrl(text, start, schemeUrlEnd(text, start, first === 106 || first === 118 || first === 108));
        SCHEME_SEED.lastIndex = Math.max(end, start + m[0].length);
        if (end <= start + m[0].length) continue;
        (covered ??= []).push(start, end);
        consider(start, end, text.slice(start, end));
      }

      // Bare hosts.
      DOT_SEED.lastIndex = 0;
      let c = 0;
      while ((m = DOT_SEED.exec(text)) !== null) {
        const dot = m.index + 1;
        if (covered !== undefined) {
          while (c < covered.length && covered[c + 1]! <= dot) c += 2;
          if (c < covered.length && covered[c]! <= dot) {
            DOT_SEED.lastIndex = covered[c + 1]!;
            continue;
          }
        }
        const found = bareUrlAt(text, dot);
        if (found.start < 0) {
          DOT_SEED.lastIndex = Math.max(found.end, dot + 1);
          continue;
        }
        const end = trimUrl(text, found.start, found.end);
        DOT_SEED.lastIndex = Math.max(end, dot + 1);
        const host = text.slice(found.start, found.hostEnd).toLowerCase();
        const tld = host.slice(host.lastIndexOf('.') + 1);
        const hasPath = found.end > found.hostEnd;
        // A known TLD; one that doubles as a file extension needs a path, a port or "www."; an IPv4 address a path.
        if (IPV4.test(host)) {
          if (!hasPath) continue;
        } else if (!BARE_TLDS.has(tld) || (FILE_LIKE_TLDS.has(tld) && !hasPath && !host.startsWith('www.'))) continue;
        consider(found.start, end, `http://${text.slice(found.start, end)}`);
      }
      return { score, flagged: score >= threshold, matches };
    },
  };
}
