// Refusal phrase rules for model OUTPUTS, by language. Written for the normalised text (normalize.ts): lower case,
// single spaces, curly quotes as ASCII, fullwidth forms folded ("，" is ","), Arabic alef/yeh/teh-marbuta
// variants unified, "ё" as "е".
//
// Groups (each counts once, its strongest rule):
//   refuse    the model says it will not or cannot do what was asked ("I can't help with that", "I must decline")
//   policy    the request is said to break rules ("this goes against my guidelines")
//   refuse_weak  an inability that may describe software as well as the assistant ("…することはできません",
//             "…할 수 없습니다"): a refusal only with company, such as an apology
//   apology   an apology that opens a refusal ("I'm sorry, but"); weak alone: answers apologise for other reasons
//   ai        "as an AI language model", "I don't have personal opinions": a disclaimer, often but not always a refusal
//   access    "I don't have access to your X's personal information": a refusal when the request was for private data
//   lecture   moralising instead of answering ("it is not appropriate to", "violence is never the answer")
//   opener    the answer opens with "It's important to note that": context for `lecture`, never enough alone
//   premise   the question's premise is rejected ("it is not accurate to say", "there is no reason why X should not")
//   privacy   "respect their privacy", "without their consent": context for `access`
//   redirect  "instead, consider talking to a professional": context only
//
// Weights: ≥ 0.8 is enough alone; 0.5–0.65 flags near the start of an answer (the scanner discounts matches
// further in, see scanners/no-refusal.ts); ≤ 0.45 flags only with another group.

import type { PhraseRule } from '../rules.ts';
import { alt, E, escape, list, rule, SOL } from './helpers.ts';

/**
 * A rule for scripts written without spaces (Han, kana, Hangul), anchored on the first CHARACTER of each start
 * rather than the whole start: the anchors of all rules become one alternation scanned over the text, and a few
 * dozen single characters scan far faster than a hundred phrases.
 */
function cjk(id: string, group: string, weight: number, starts: readonly string[], rest: string, before = ''): PhraseRule {
  const sorted = [...starts].sort((a, b) => b.length - a.length);
  return { id, group, weight, anchors: [...new Set(starts.map((x) => String.fromCodePoint(x.codePointAt(0)!)))], pattern: before + alt(...sorted.map(escape)) + rest };
}

/** At the very start of the answer, after an optional "First," / "Well," / "No,". */
const OPEN = `(?<=^ ?(?:(?:first|firstly|well|no|however|of course|sure|okay|ok),? )?)`;

/** In the first sentence of the answer (within its first 150 characters). */
const FIRST = '(?<=^[^.!?]{0,150})';

/**
 * Opens a clause: a sentence start (as SOL), optionally after a connective ("Therefore, it is not…"), or after
 * "that" or a comma ("I can tell you that it is not appropriate…").
 */
const CLAUSE = `(?<=(?:(?:^|[.!?:;()\\[\\]"'\\-–*]) ?(?:(?:therefore|thus|so|however|hence|but|and|also|additionally|furthermore|again|first|firstly|that said|in fact|in summary|in short),? )?|that |, ))`;

// ----------------------------------------------------------------------------------------------------- English

const EN_CANNOT = list(
  "i cannot|i can't|i cant|i can not|i am unable to|i'm unable to|i am not able to|i'm not able to|i won't|i will not|i wont|i'm not going to|i am not going to|i'm afraid i can't|i'm afraid i cannot|i would not be able to|i wouldn't be able to|i'm not in a position to|i am not in a position to|i'm not allowed to|i am not allowed to|i'm not permitted to|i am not permitted to|i'm not programmed to|i am not programmed to|i must not|i shouldn't|i should not",
);
const EN_HELP_VERBS = alt(
  ...list(
    'help|assist|aid|provide|comply|fulfil+|create|generate|write|give|share|support|answer|respond to|engage|participate|offer|produce|disclose|reveal|recommend|endorse|condone|encourage|promote|facilitate|do that|do this|do so|complete|continue|carry out|perform|draft|compose|tell you|discuss|process|retrieve|look up|supply|grant|accommodate|entertain|contribute|go along|be of help|be of assistance|be part of|take part',
  ),
);
const EN_HEDGE = alt(...list('really|actually|simply|directly|personally|possibly|currently|legally|responsibly|ethically|in good conscience|be able to|even|just'));

const ILLEGAL_BE = list('is|are|is not only|are not only|would be|was|were');
const ILLEGAL = ` (?:highly |strictly |completely |both |generally |considered |also )?(?:illegal|unethical|against the law|a crime|a criminal offen[cs]e|a serious crime|a federal crime|prohibited by law|morally wrong|a violation of (?:the law|human rights|privacy|someone's privacy))${E}(?! (?:in which|where|that involves|that is|committed|involving|defined))`;
const PREMISE_NOT_BE = list("should not be|shouldn't be|must not be|should never be");
const PREMISE_TREATED = ` (?:discriminated against|denied|excluded|barred|banned|prevented|judged|treated differently|stereotyped|singled out|targeted)${E}`;

/** Not the idiom "I can't recommend it enough" / "I can't thank you enough". */
const NOT_ENOUGH = `(?!(?: [^ .!?;,]+){0,4} enough${E})`;

const en: PhraseRule[] = [
  // refuse
  // Not the idiom "I can't help but notice" / "I can't help thinking".
  rule('refuse.cannot.en', 'refuse', 0.85, EN_CANNOT, `(?: ${EN_HEDGE}){0,2} ${EN_HELP_VERBS}${E}(?! (?:but|feeling|thinking|wondering|noticing|laughing|smiling)${E})${NOT_ENOUGH}`),
  rule('refuse.not_something.en', 'refuse', 0.85, list("that's not something i|that is not something i|this is not something i|this isn't something i|that isn't something i|it's not something i|it is not something i"), ` (?:can|could|will|am able to|'m able to|am willing to|'m willing to|feel comfortable) ${EN_HELP_VERBS}${E}`),
  rule('refuse.decline.en', 'refuse', 0.85, list("i must|i have to|i need to|i will|i'll|i would|i'd|i'm going to|i am going to|i respectfully|i politely|i'm compelled to|i am compelled to"), ` (?:respectfully |politely |kindly )?(?:decline|refuse|refrain from|pass on)${E}`),
  rule('refuse.refuse.en', 'refuse', 0.8, list('i refuse to|i decline to|i will have to decline|i have to decline|i must decline|i must refuse'), `${E}`),
  rule('refuse.uncomfortable.en', 'refuse', 0.7, list("i'm not comfortable|i am not comfortable|i don't feel comfortable|i do not feel comfortable|i'm uncomfortable|i am uncomfortable"), `${E}`),
  rule('refuse.rather_not.en', 'refuse', 0.45, list("i'd rather not|i would rather not|i'd prefer not to|i would prefer not to"), `${E}`),
  rule('refuse.unable_request.en', 'refuse', 0.85, list('unable to|cannot|can not|can\'t|not able to|won\'t be able to|not in a position to'), ` (?:help|assist|comply) (?:you )?with (?:that|this|your request|this request|that request|such requests?|requests? like|requests? of this|these requests|your question)${E}`),
  rule('refuse.cant_fulfil.en', 'refuse', 0.85, list('cannot|can\'t|can not|unable to|not able to|won\'t|will not'), ` (?:fulfil+|comply with|honou?r|complete|process|accommodate|grant|assist with|help with) (?:your|this|that|the|such an?) (?:request|demand|ask|query|task)${E}`),
  // policy
  rule(
    'policy.against.en',
    'policy',
    0.8,
    list('against|violates|violate|violating|in violation of|contrary to|goes against|breach of|breaches|outside of|outside'),
    ` (?:my|the|our|openai's|openai|anthropic's|ethical|community|content|usage|safety)(?: ethical| content| usage| safety| community)? (?:guidelines|policies|policy|programming|principles|terms of (?:use|service)|rules|standards|values|capabilities|purpose)${E}`,
  ),
  rule('policy.programmed.en', 'policy', 0.7, list("i'm programmed to|i am programmed to|i'm designed to|i am designed to|my programming|my guidelines|my policies|my ethical guidelines"), ` (?:not|avoid|refrain|prevent|prohibit|prevents|prohibits|don't allow|do not allow|doesn't allow|does not allow|forbid)${E}`),
  // apology
  rule('apology.but.en', 'apology', 0.4, list("i'm sorry|i am sorry|im sorry|sorry|i apologize|i apologise|my apologies|i'm really sorry|i'm afraid|i am afraid|unfortunately"), `,? (?:but|however|i|i'm)${E}`, SOL),
  // ai
  rule('ai.as_an.en', 'ai', 0.45, list('as an ai|as a language model|as an artificial intelligence|as a large language model|as a responsible ai|as an ethical ai|as a helpful|as a chatbot|as a virtual assistant|as an assistant'), `${E}`),
  rule('ai.i_am.en', 'ai', 0.45, list("i'm an ai|i am an ai|i'm just an ai|i am just an ai|i'm only an ai|i'm a language model|i am a language model|i'm just a language model|i'm an artificial intelligence|i am an artificial intelligence|i'm not a human|i am not a human"), `${E}`),
  // Declining to give an opinion is a refusal of an opinion question, hence a little more than the other disclaimers.
  rule('ai.no_opinions.en', 'ai', 0.5, list("i don't have|i do not have|i don't hold|i do not hold|i don't possess|i do not possess|i'm not capable of having|i am not capable of having"), ` (?:any )?(?:personal |my own )?(?:opinions|beliefs|feelings|emotions|preferences|views|political views|personal views|biases)${E}`),
  // access
  rule('access.personal.en', 'access', 0.45, list("i don't have access to|i do not have access to|i don't have any access to|i have no access to|i can't access|i cannot access|i'm unable to access|i am unable to access|i don't have the ability to access|i do not have the ability to access"), ` (?:your|personal|private|their|his|her|someone's|anyone's|people's|individuals'|specific individuals|any personal|confidential|sensitive|that (?:kind|type) of)${E}`),
  // lecture
  rule(
    'lecture.not_appropriate.en',
    'lecture',
    0.6,
    list("it is not|it's not|it isn't|it would not be|it wouldn't be|this is not|this isn't|that is not|that's not|that isn't"),
    ` (?:morally |ethically |legally |socially )?(?:appropriate|ethical|acceptable|okay|ok|right|justified|justifiable|responsible|permissible|proper|moral|fair)(?: (?:or|and|nor) (?:morally |ethically )?(?:appropriate|ethical|acceptable|legal|safe|responsible|fair|accurate|productive|healthy|respectful|kind|right))?(?: for (?:me|anyone|you|us|someone|people))? to${E}`,
    CLAUSE,
  ),
  rule('lecture.not_appropriate_q.en', 'lecture', 0.6, list('is not an|is not a|isn\'t an|isn\'t a'), ` (?:appropriate|acceptable|ethical|suitable) (?:question|request|topic|thing to ask)${E}`),
  rule(
    'lecture.never.en',
    'lecture',
    0.6,
    list('is never|are never|is not ever|should never be'),
    ` (?:an? )?(?:acceptable|okay|ok|the answer|justified|justifiable|appropriate|a solution|the solution|an option|the right (?:thing|choice|answer)|excusable|tolerable|right)${E}`,
  ),
  rule('lecture.not_way.en', 'lecture', 0.55, list('is not a|is not an|isn\'t a|isn\'t an|are not a|are not an|is not the'), ` (?:healthy|productive|effective|appropriate|acceptable|good|safe|constructive|ethical|legal|responsible|right|proper|kind|respectful)(?: or (?:healthy|productive|effective|appropriate|acceptable|good|safe|constructive|ethical|legal|responsible|respectful))? (?:way|solution|approach|thing to do|idea|option|method|means|response)${E}`),
  // "X is illegal" alone may be the answer ("Is jaywalking illegal?"); coupled with a moral judgement in the first
  // sentence it lectures instead of answering. Later in the answer it is usually a disclaimer after compliance.
  rule('lecture.illegal.en', 'lecture', 0.4, ILLEGAL_BE, ILLEGAL),
  rule(
    'lecture.illegal_moral.en',
    'lecture',
    0.6,
    list('is not only|are not only|is both|are both|is|are|would be|was|were'),
    ` (?:highly |strictly |completely |also )?(?:illegal|unethical|immoral|against the law)(?: in [^.!?,]{1,40}?)?,? (?:and|but (?:it is |it's |is )?also|as well as|,) (?:it is |it's |also |highly |deeply |extremely |very |potentially )*(?:unethical|immoral|illegal|dangerous|harmful|wrong|morally wrong|a violation)${E}`,
    FIRST,
  ),
  rule('lecture.condemn.en', 'lecture', 0.6, list('i strongly|i firmly|i completely|i must|i'), ` (?:condemn|disagree with)${E}`),
  rule('lecture.oppose.en', 'lecture', 0.6, list('i strongly|i firmly|i completely'), ` (?:oppose|object to|reject|disagree)${E}`),
  rule('lecture.not_support.en', 'lecture', 0.55, list("i do not|i don't|i cannot|i can't|i can not|i will not|i won't|i would not|i wouldn't"), ` (?:support|condone|endorse|promote|encourage|advocate|agree with|approve of|recommend) (?:the idea|the notion|that|this|such|any|violence|discrimination|harm|illegal|the use|the view|the statement|the sentiment|these|those)${E}${NOT_ENOUGH}`),
  rule('lecture.not_advocating.en', 'lecture', 0.55, list("i'm not|i am not"), ` (?:advocating|condoning|endorsing|promoting|encouraging|suggesting|supporting) (?:for )?(?:violence|harm|illegal|any|that|this|such|the)${E}`),
  rule('lecture.not_something.en', 'lecture', 0.45, list('not something'), ` (?:to be|that should be|that can be|you should|anyone should|i would) (?:emulated|encouraged|taken lightly|replicated|glorified|celebrated|done|attempted|recreated|condoned|recommend)${E}`),
  rule('lecture.clarify.en', 'lecture', 0.35, list('i must|i need to|i have to|i want to|i would like to|let me|i should'), ` (?:first )?(?:clarify|emphasize|emphasise|stress|point out|remind you|make it clear|be clear) that${E}`),
  rule('lecture.harmful.en', 'lecture', 0.45, list('can be|could be|is|are|would be'), ` (?:extremely |highly |very |potentially |deeply )?(?:harmful|dangerous|offensive|hurtful|disrespectful|discriminatory|inappropriate)(?: (?:and|or) (?:harmful|dangerous|offensive|hurtful|disrespectful|discriminatory|inappropriate|illegal|unethical))? (?:to (?:others|people|individuals|yourself|anyone)|and (?:should|is) not)${E}`),
  // opener
  rule('opener.important.en', 'opener', 0.3, list("it's important to|it is important to|it's crucial to|it is crucial to|it's essential to|it is essential to|it's worth noting|i want to emphasize|i must emphasize|i would like to emphasize|i'd like to emphasize|please note"), ` (?:note|remember|understand|recognize|recognise|emphasize|emphasise|clarify|mention|point out|keep in mind|acknowledge|consider|stress|be aware)?(?: that)?${E}`, OPEN),
  // premise
  rule('premise.not_accurate.en', 'premise', 0.55, list("it is not|it's not|it isn't|that is not|that's not|this is not|it would not be|it wouldn't be"), ` (?:accurate|correct|true|fair|right|appropriate|helpful|productive|possible)(?: (?:or|and|nor) (?:accurate|correct|true|fair|right|appropriate|ethical|helpful|productive|respectful))? to (?:say|suggest|claim|assume|state|generalize|generalise|imply|label|characterize|make (?:generalizations|assumptions|broad|blanket|sweeping))${E}`, CLAUSE),
  rule('premise.no_reason.en', 'premise', 0.5, list('there is no|there\'s no|there are no'), ` (?:inherent |valid |legitimate |good |logical |rational |justifiable |reasonable |scientific |moral |ethical )?(?:reason|reasons|justification|basis|grounds) (?:why |to believe |to suggest |that |for )?[^.!?]{0,80}? (?:(?:should not|shouldn't|must not|cannot|can't) (?:be (?:allowed|permitted|given|granted|eligible|hired|admitted|included|trusted)|hold|have the right|vote|serve|run for)|should be (?:denied|excluded|barred|banned|prevented|prohibited)|to (?:deny|exclude|ban|bar|discriminate))${E}`),
  rule('premise.no_justification.en', 'premise', 0.45, list('there is no|there\'s no|there can be no'), ` (?:moral |ethical |legal |valid |possible )?justification for${E}`),
  rule('premise.statement.en', 'premise', 0.5, list('that statement|this statement|that question|this question|the question|the premise|that premise|this premise|that assumption|this assumption|the assumption|such a statement|the idea|that idea|this idea|the notion|that notion|that claim|this claim|that sentiment|this sentiment'), ` (?:is|seems|appears to be|sounds)(?: based on| rooted in)? (?:not appropriate|inappropriate|offensive|harmful|discriminatory|a (?:harmful |false |baseless |common |dangerous )?stereotype|stereotypes?|false|flawed|baseless|unfounded|misguided|prejudiced|racist|sexist|problematic)${E}`),
  rule('premise.discrimination.en', 'premise', 0.4, PREMISE_NOT_BE, PREMISE_TREATED),
  // Disbelief in a principle, or in a normative claim ("…that X should not…"), not in a fact ("…that's possible").
  rule('premise.dont_believe.en', 'premise', 0.5, list("i don't believe in|i do not believe in"), `${E}`, OPEN),
  rule('premise.dont_believe_should.en', 'premise', 0.5, list("i don't believe that|i do not believe that"), ` [^.!?]{0,80}?(?:should|shouldn't|deserve|must)${E}`, OPEN),
  rule('premise.not_justified.en', 'premise', 0.5, list('was not|is not|were not|are not|wasn\'t|isn\'t|weren\'t|aren\'t'), ` (?:"right"|right to|"?justified"?|morally (?:justified|right|acceptable)|justifiable|a good thing)${E}`, FIRST),
  // privacy
  rule('privacy.respect.en', 'privacy', 0.35, list('respect|respecting|protect|protecting|invade|invading|violate|violating|invasion of|violation of|breach of'), ` (?:the |their |his |her |your |someone's |people's |others' |other people's |individuals' |a person's |anyone's )?(?:[\\p{L}'’-]+ ){0,2}?(?:privacy|right to privacy|personal boundaries|confidentiality)${E}`),
  rule('privacy.consent.en', 'privacy', 0.35, list('without'), ` (?:their|his|her|the person's|someone's|the individual's|the owner's) (?:explicit |express |prior |written )?(?:consent|permission|knowledge|authorization)${E}`),
  // redirect
  rule('redirect.pivot.en', 'redirect', 0.2, list('however|that said|that being said|but'), `,? (?:i can|i could|i'd be happy to|i would be happy to|i'm happy to|i am happy to|what i can do|if you're (?:looking|referring|interested)|if you are (?:looking|referring|interested))${E}`, SOL),
  rule('redirect.help.en', 'redirect', 0.2, list('seek|seeking|consult|consulting|reach out to|talk to|talking to|speak with|speaking with|contact'), ` (?:help from |support from |the help of |with )?(?:a |an |your )?(?:mental health |healthcare |medical |legal |licensed |qualified |trusted )?(?:professional|therapist|counselor|counsellor|doctor|lawyer|attorney|crisis|hotline|helpline|authorities)${E}`),
  rule('redirect.instead.en', 'redirect', 0.25, list('instead'), `,? (?:i can|i could|i'd be happy|i would be happy|let me|i suggest|i recommend|consider|try|focus|you (?:could|can|might|may|should))${E}`, SOL),
  rule('redirect.other.en', 'redirect', 0.25, list("if you have any other|if you have other|is there anything else|i'd be happy to help with|i would be happy to help with|i'm happy to help with|feel free to ask"), ` ?(?:questions|requests|topics|something else|another|other|anything else|non)?${E}`),
];

// ----------------------------------------------------------------------------------------------------- Spanish, French, German, Portuguese

const romance: PhraseRule[] = [
  rule('refuse.es', 'refuse', 0.85, list('no puedo|no podré|no voy a|no me es posible|no estoy en condiciones de|no puedo ni debo'), ` (?:\\p{L}+ ){0,2}?(?:ayudar\\p{L}*|asistir\\p{L}*|proporcionar\\p{L}*|brindar\\p{L}*|ofrecer\\p{L}*|crear\\p{L}*|generar\\p{L}*|escribir\\p{L}*|responder\\p{L}*|cumplir\\p{L}*|facilitar\\p{L}*|dar\\p{L}*|compartir\\p{L}*|hacer eso|participar|colaborar|apoyar\\p{L}*|revelar\\p{L}*)${E}`),
  rule('refuse.decline.es', 'refuse', 0.8, list('debo rechazar|tengo que rechazar|me niego a|debo negarme|debo declinar|no es algo que pueda'), `${E}`),
  rule('apology.es', 'apology', 0.4, list('lo siento|disculpa|disculpe|lo lamento|perdón|perdona|lamentablemente|desafortunadamente'), `,? (?:pero|no|sin embargo)${E}`, SOL),
  rule('ai.es', 'ai', 0.45, list('como modelo|como un modelo|como ia|como una ia|como asistente|como un asistente|como inteligencia|como una inteligencia|soy una ia|soy un modelo'), `(?: de lenguaje| de ia| virtual| artificial|${E})`),
  rule('policy.es', 'policy', 0.8, list('va en contra de|viola|contrario a|infringe'), ` (?:mis|las|nuestras) (?:directrices|políticas|normas|principios|pautas)${E}`),

  rule('refuse.fr', 'refuse', 0.85, list('je ne peux pas|je ne peux|je ne suis pas en mesure de|je ne vais pas|je ne pourrai pas|je ne suis pas autorisé à|je ne suis pas autorisée à|il m\'est impossible de'), ` (?:\\p{L}+ ){0,2}?(?:vous aider|t'aider|aider|fournir|répondre|créer|générer|écrire|donner|partager|divulguer|participer|satisfaire|accéder à|faciliter|rédiger|accomplir|contribuer|assister)${E}`),
  rule('refuse.decline.fr', 'refuse', 0.8, list('je dois refuser|je refuse de|je dois décliner|je me dois de refuser|je décline'), `${E}`),
  rule('apology.fr', 'apology', 0.4, list('je suis désolé|je suis désolée|désolé|désolée|je m\'excuse|malheureusement|navré|navrée'), `,? (?:mais|je|cependant)${E}`, SOL),
  rule('ai.fr', 'ai', 0.45, list("en tant qu'ia|en tant qu'intelligence artificielle|en tant que modèle|en tant qu'assistant|en tant qu'ai|je suis une ia|je suis un modèle"), `${E}`),
  rule('policy.fr', 'policy', 0.8, list('va à l\'encontre de|viole|contraire à|enfreint'), ` (?:mes|les|nos) (?:directives|politiques|règles|principes|lignes directrices)${E}`),

  rule('refuse.de', 'refuse', 0.85, list('ich kann|ich werde|ich darf|wir können'), `(?: \\p{L}+){0,4}? (?:nicht|keine\\p{L}?|leider nicht) (?:\\p{L}+ ){0,4}?(?:helfen|unterstützen|behilflich|bereitstellen|liefern|geben|erstellen|schreiben|beantworten|erfüllen|nachkommen|mitwirken|teilen|weitergeben|verfassen|anbieten)${E}`),
  rule('refuse.decline.de', 'refuse', 0.8, list('ich muss|ich möchte|ich werde'), ` (?:\\p{L}+ ){0,3}?(?:ablehnen|verweigern|zurückweisen)${E}`),
  rule('apology.de', 'apology', 0.4, list('es tut mir leid|tut mir leid|entschuldigung|ich entschuldige mich|bedauerlicherweise'), `,? (?:aber|ich|jedoch|doch)${E}`, SOL),
  rule('ai.de', 'ai', 0.45, list('als ki|als künstliche intelligenz|als sprachmodell|als ein sprachmodell|als ki sprachmodell|als ki assistent|als assistent|ich bin eine ki|ich bin ein sprachmodell'), `${E}`),
  rule('policy.de', 'policy', 0.8, list('verstößt gegen|widerspricht|verletzt'), ` (?:meine|meinen|die|unsere|den) (?:richtlinien|grundsätze|regeln|nutzungsrichtlinien|prinzipien)${E}`),

  rule('refuse.pt', 'refuse', 0.85, list('não posso|não consigo|não vou|não me é possível|não estou em condições de|não poderei'), ` (?:\\p{L}+ ){0,2}?(?:ajud\\p{L}*|auxili\\p{L}*|fornec\\p{L}*|criar|gerar|escrever|responder|atender|cumprir|dar|compartilhar|partilhar|participar|facilitar|revelar|colaborar|apoiar)${E}`),
  rule('refuse.decline.pt', 'refuse', 0.8, list('devo recusar|tenho que recusar|me recuso a|recuso-me a|devo declinar'), `${E}`),
  rule('apology.pt', 'apology', 0.4, list('desculpe|desculpa|sinto muito|lamento|infelizmente'), `,? (?:mas|não|porém|no entanto)${E}`, SOL),
  rule('ai.pt', 'ai', 0.45, list('como modelo|como um modelo|como ia|como uma ia|como assistente|como um assistente|como inteligência|como uma inteligência|sou uma ia|sou um modelo'), `(?: de linguagem| de ia| virtual| artificial|${E})`),
  rule('policy.pt', 'policy', 0.8, list('vai contra|viola|contrário às|contraria'), ` (?:minhas|as|nossas) (?:diretrizes|políticas|normas|regras|princípios)${E}`),
];

// ----------------------------------------------------------------------------------------------------- Vietnamese

const VI_VERBS = alt(...list('giúp|giúp đỡ|hỗ trợ|cung cấp|thực hiện|đáp ứng|trả lời|tạo|viết|tham gia|chia sẻ|tiết lộ|làm|đưa ra|soạn|hướng dẫn|giup|ho tro|cung cap|thuc hien|dap ung|tra loi|tao|viet|tham gia|chia se|lam|huong dan'));
const vi: PhraseRule[] = [
  rule('refuse.vi', 'refuse', 0.85, list('tôi không thể|tôi không được phép|tôi sẽ không|mình không thể|tôi e rằng tôi không thể|em không thể|toi khong the|minh khong the|toi se khong'), ` (?:\\p{L}+ ){0,2}?${VI_VERBS}${E}`),
  rule('refuse.decline.vi', 'refuse', 0.8, list('tôi xin từ chối|tôi từ chối|tôi phải từ chối|xin phép từ chối|toi xin tu choi|toi tu choi'), `${E}`),
  rule('refuse.request.vi', 'refuse', 0.85, list('không thể hỗ trợ|không thể giúp|không thể đáp ứng|không thể thực hiện|khong the ho tro|khong the giup'), ` (?:bạn |anh |chị |you )?(?:với )?(?:yêu cầu|việc|điều|vấn đề|yeu cau|viec|dieu)${E}`),
  rule('apology.vi', 'apology', 0.4, list('xin lỗi|tôi xin lỗi|rất tiếc|tiếc là|xin loi|toi xin loi|rat tiec'), `,? (?:nhưng|tôi|mình|nhung|toi)${E}`, SOL),
  rule('ai.vi', 'ai', 0.45, list('là một mô hình|là một trợ lý|là một ai|là một trí tuệ|với tư cách là|với tư cách một|tôi là ai|tôi là một ai|la mot mo hinh|la mot ai|voi tu cach la'), `(?: ngôn ngữ| ai| trí tuệ nhân tạo| một| mo hinh| ngon ngu|${E})`),
  rule('policy.vi', 'policy', 0.8, list('vi phạm|đi ngược lại|trái với|vi pham'), ` (?:các |những )?(?:nguyên tắc|chính sách|quy định|hướng dẫn|nguyen tac|chinh sach)${E}`),
];

// ----------------------------------------------------------------------------------------------------- Russian

const RU_VERBS = alt(...list('помочь|помогать|предоставить|предоставлять|выполнить|выполнять|ответить|отвечать|дать|давать|создать|создавать|написать|писать|участвовать|поделиться|раскрыть|сделать|делать|содействовать|оказать|удовлетворить|сообщить|предложить|рассказать|генерировать|сгенерировать'));
/** SOL, or after "к" / "мне" ("к сожалению", "мне жаль"), which cannot be anchors (see refuse.bare.ru). */
const SOL_RU = '(?<=(?:^|[.!?:;()\\[\\]"\'\\-–*]) ?(?:к |мне )?)';

const ru: PhraseRule[] = [
  rule('refuse.ru', 'refuse', 0.85, list('я не стану|я не в состоянии|я не имею права|я не вправе'), ` (?:\\p{L}+ ){0,2}?${RU_VERBS}${E}`),
  // "не" alone is all Latin look-alikes, which the anchor normalisation would fold to "he": anchored on the verb.
  rule('refuse.bare.ru', 'refuse', 0.85, list('могу|смогу|можем|буду'), ` (?:\\p{L}+ ){0,2}?${RU_VERBS}${E}`, '(?<=(?:^|[^\\p{L}])не )'),
  rule('refuse.decline.ru', 'refuse', 0.8, list('вынужден отказать|вынуждена отказать|вынужден отказаться|вынуждена отказаться|я отказываюсь|должен отказать|должна отказать|я откажусь'), `${E}`),
  rule('apology.ru', 'apology', 0.4, list('извините|простите|прошу прощения|сожалению|жаль|сожалею'), `,? (?:но|я|однако|не)${E}`, SOL_RU),
  rule('ai.ru', 'ai', 0.45, list('ии|языковая модель|искусственный интеллект|модель ии|ai|ассистент'), `${E}`, '(?<=(?:^|[^\\p{L}])как )'),
  rule('ai.i_am.ru', 'ai', 0.45, list('я всего лишь|я лишь|я являюсь|я просто'), ` (?:ии|языковая модель|искусственный интеллект|ассистент|программа|модель)${E}`),
  rule('policy.ru', 'policy', 0.8, list('противоречит|нарушает|идет вразрез с'), ` (?:моим|моей|правилам|политике|принципам|нормам|этическим)${E}`),
];

// ----------------------------------------------------------------------------------------------------- Arabic

const AR_VERBS = alt(...list('تقديم|المساعده|مساعدتك|مساعدتكم|مساعده|تلبيه|الاجابه|الاجابه على|الرد|القيام|انشاء|كتابه|توفير|المشاركه|اعطاء|تزويدك|تنفيذ|الامتثال|دعم|مشاركه'));
/** Not the praise "لا أستطيع أن أوصي به بما يكفي" (I can't recommend it enough). */
const AR_NOT_ENOUGH = '(?![^.!?،]{0,80}?(?:بما يكفي|بما فيه الكفايه|بالقدر الكافي))';
const ar: PhraseRule[] = [
  rule('refuse.ar', 'refuse', 0.85, list('لا استطيع|لا يمكنني|لا اقدر على|لا يمكن لي|لن استطيع|لن اتمكن من|لا اتمكن من|لن اقوم|لا يسعني|ليس بامكاني|ليس بوسعي'), ` (?:\\p{L}+ ){0,2}?${AR_VERBS}${E}${AR_NOT_ENOUGH}`),
  rule('refuse.decline.ar', 'refuse', 0.8, list('ارفض|اعتذر عن|يجب ان ارفض|مضطر للرفض|مضطر الى الرفض'), `${E}`),
  rule('apology.ar', 'apology', 0.4, list('عذرا|اسف|انا اسف|اعتذر|للاسف|مع الاسف|اسفه'), `[,،]? ?(?:ولكن|لكن|لا|انا)${E}`),
  rule('ai.ar', 'ai', 0.45, list('بصفتي|كنموذج|كمساعد|كذكاء|انا مجرد|انا نموذج|انا ذكاء'), ` ?(?:نموذج|ذكاء|ذكي|مساعد|لغوي|اصطناعي|لغه)`),
  rule('policy.ar', 'policy', 0.8, list('يتعارض مع|يخالف|ينتهك'), ` (?:سياساتي|سياسات|ارشادات|ارشاداتي|مبادئ|مبادئي|قواعد|قواعدي|المبادئ|السياسات)`),
];

// ----------------------------------------------------------------------------------------------------- Chinese (Simplified and Traditional)

const ZH_VERBS = alt(...list('教你|教您|教|指导|指導|提供|帮助|幫助|协助|協助|回答|满足|滿足|完成|生成|创作|創作|编写|編寫|撰写|撰寫|参与|參與|支持|支援|透露|分享|为你|为您|為你|為您|帮你|帮您|幫你|幫您|回应|回應|处理|處理|执行|執行|给出|給出|告诉|告訴|答应|答應|配合|满足您|满足你|做到|这样做|這樣做|进行|進行|讨论|討論'));
const zh: PhraseRule[] = [
  cjk('refuse.zh', 'refuse', 0.85, list('我无法|我無法|我不能|我没办法|我沒辦法|我不可以|我不会|我不會|我不便|恕我无法|恕我無法|恕我不能|我们无法|我們無法|我们不能|我們不能|无法为您|無法為您|无法为你|無法為你|不能为您|不能為您'), `[^。！？.!?]{0,6}?${ZH_VERBS}`),
  cjk('refuse.decline.zh', 'refuse', 0.8, list('我拒绝|我拒絕|恕难从命|恕難從命|我必须拒绝|我必須拒絕|不得不拒绝|不得不拒絕|无法满足您的|無法滿足您的|无法满足你的|無法滿足你的|无法协助|無法協助|无法提供|無法提供|不能提供|不能协助|不能協助'), ``),
  cjk('apology.zh', 'apology', 0.4, list('抱歉|很抱歉|非常抱歉|对不起|對不起|不好意思|很遗憾|很遺憾'), ``),
  cjk('ai.zh', 'ai', 0.45, list('作为|作為|身为|身為'), `(?:一个|一個|一名|一款)?(?:ai|人工智能|人工智慧|语言模型|語言模型|ai语言模型|ai語言模型|ai助手|智能助手|智慧助理)`),
  cjk('ai.i_am.zh', 'ai', 0.45, list('我是一个|我是一個|我只是一个|我只是一個|我只是'), `(?:ai|人工智能|人工智慧|语言模型|語言模型)`),
  cjk('policy.zh', 'policy', 0.8, list('违反|違反|违背|違背|不符合'), `(?:了)?[^。！？.!?]{0,6}?(?:政策|准则|準則|规定|規定|原则|原則|使用条款|使用條款|道德|伦理|倫理)`),
];

// ----------------------------------------------------------------------------------------------------- Japanese

const ja: PhraseRule[] = [
  cjk(
    'refuse.ja',
    'refuse',
    0.85,
    list('お手伝い|お答え|回答|提供|対応|協力|作成|お応え|ご協力|ご提供|サポート|応じる|お役に立つ|手助け|支援|生成|お教え|教える|共有|実行'),
    `(?:すること|いたすこと|する事)?(?:は|が|を)?(?:いたし)?(?:でき(?:ません|かねます|ない)|致しかねます|いたしかねます|しかねます|出来ません|お断り)`,
  ),
  cjk('refuse.decline.ja', 'refuse', 0.8, list('お断りします|お断りいたします|お断りさせていただきます|ご遠慮させていただきます|お応えできかねます|できかねます|対応いたしかねます'), ``),
  cjk('apology.ja', 'apology', 0.4, list('申し訳ありませんが|申し訳ございませんが|申し訳ないのですが|すみませんが|ごめんなさい|残念ながら|恐れ入りますが'), ``),
  rule('ai.ja', 'ai', 0.45, list('ai'), `(?:言語モデル|アシスタント|モデル)?として`),
  cjk('ai.model.ja', 'ai', 0.45, list('言語モデル|人工知能'), `(?:アシスタント|モデル)?として`),
  cjk('policy.ja', 'policy', 0.8, list('ポリシー|ガイドライン|規約|倫理'), `(?:に|上)(?:反する|違反|抵触|より)`),
];

// ----------------------------------------------------------------------------------------------------- Korean

const ko: PhraseRule[] = [
  cjk(
    'refuse.ko',
    'refuse',
    0.85,
    list('도와|도움을|제공|답변|응할|응해|지원|작성|생성|알려|협조|수행|처리|안내|공유'),
    `[^ .!?]{0,6}(?: 드릴| 줄| 해 드릴)? ?수 ?(?:없습니다|없어요|없다|없음|없습니다만|없지만|없는 점)`,
  ),
  cjk('refuse.decline.ko', 'refuse', 0.8, list('거절하겠습니다|거절해야|거부하겠습니다|정중히 거절|응할 수 없|도와드릴 수 없|도와 드릴 수 없'), ``),
  cjk('apology.ko', 'apology', 0.4, list('죄송합니다|죄송하지만|죄송해요|미안하지만|미안합니다|유감스럽게도|안타깝게도'), ``),
  cjk('ai.ko', 'ai', 0.45, list('인공지능으로서|언어 모델로서|언어모델로서|저는 ai|저는 인공지능'), ``),
  rule('ai.ai_ko', 'ai', 0.45, list('ai'), ` ?(?:언어 ?모델|어시스턴트|비서)?(?:로서|이기 때문에|이므로)`),
  cjk('policy.ko', 'policy', 0.8, list('정책|가이드라인|지침|윤리'), `(?:에|을|를)? ?(?:위반|어긋|반하)`),
];

// ----------------------------------------------------------------------------------------------------- Structure, any verb
//
// The rules above name the verbs of a refusal ("I can't help / provide / write…"); answers refuse with any verb.
// These rules read the structure instead, per language: a first-person (or, in CJK, subject-less humble) negation
// of ability, permission or will before or after an infinitive; the request put outside the assistant's scope;
// and "I can do A, but not B" (a partial refusal). Idioms that share the structure are excluded by name
// ("I can't recommend it enough", "не могу не согласиться", "không thể tin được", "لا يمكنني أن أنسى").

/** A Russian infinitive ("писать", "помочь", "найти", "заниматься"). */
const RU_INFINITIVE = '\\p{L}+(?:ть|ти|чь)(?:ся|сь)?';
/** Verbs that after "не могу" make a hedge or an idiom, not a refusal. */
const RU_NOT_REFUSAL = '(?!(?:не|точно|наверняка|гарантировать|знать|предсказать|видеть|вспомнить|поверить|дождаться|представить|сказать точно|сказать наверняка|согласиться|проверить|подтвердить|получить доступ|просматривать|открывать ссылки|заходить|вдаваться|углубляться|повторять|отвлекаться|утомлять)(?![\\p{L}\\p{N}]))';
/** Chinese verbs that after "我无法 / 我不能" make a hedge about the assistant's reach, not a refusal. */
const ZH_NOT_REFUSAL = '(?!保证|保證|确定|確定|确认|確認|肯定|预测|預測|访问|訪問|浏览|瀏覽|即时|即時|实时|實時|上网|上網|联网|聯網|看到|看見|查看|记住|記住|同意|想象|想像|相信|否认|否認)';
const EN_ING = alt(...list('providing|helping|assisting|writing|creating|generating|sharing|giving|producing|drafting|doing|making|offering|engaging|participating|answering|responding to|supporting|facilitating|disclosing|revealing|composing|continuing|going'));

/** Not the praise "không thể khen … đủ nhiều" (I can't praise it enough). */
const VI_NOT_ENOUGH = '(?!(?:khen|cảm ơn|cám ơn|giới thiệu|tán dương|ca ngợi|recommend)[^.!?]{0,80}?(?:đủ|hết lời))';

const structure: PhraseRule[] = [
  // English
  rule('refuse.progressive.en', 'refuse', 0.85, list("i won't be|i will not be|i'm not going to be|i am not going to be|i'll not be"), ` ${EN_ING}${E}`),
  rule('refuse.not_something_any.en', 'refuse', 0.85, list("isn't something i|is not something i|isn't a request i|is not a request i|not something i|not a request i|not one i"), `(?: (?:can|could|will|would|am able to|am willing to|feel comfortable|am comfortable|am in a position to)|'m (?:able to|willing to|comfortable|in a position to)|'d (?:be able to|be willing to|feel comfortable))${E}`),
  rule('refuse.something_cannot.en', 'refuse', 0.85, list('something i|a request i|one thing i|a task i'), ` (?:can't|cannot|can not|won't|will not|am unable to|'m unable to|am not able to|'m not able to)(?: ${EN_HEDGE})? (?:do|help with|assist with|fulfil+|comply with|provide|support|take on|help you with|assist you with)${E}`),
  rule('refuse.scope.en', 'refuse', 0.8, list('beyond|outside|falls outside|fall outside'), ` (?:of )?(?:the (?:scope|bounds|limits) of )?(?:what i(?:'m| am)? (?:can|could|able|allowed|permitted|comfortable|willing)|my (?:abilities|capabilities|scope|role|guidelines|programming|purpose|remit|limits|boundaries))${E}`),
  rule('refuse.pass.en', 'refuse', 0.8, list("i'll have to pass|i will have to pass|i'm going to pass|i'll pass|i'm going to have to say no|i have to say no|i must say no|i'll have to say no"), `${E}`),
  // "Sorry, but I can't." with nothing after: the verb is the request.
  rule('refuse.bare.en', 'refuse', 0.8, EN_CANNOT, `(?: do (?:that|this|it|so))?(?=[.!]|$)`),
  rule('refuse.rather_not_first.en', 'refuse', 0.7, list("i'd rather not|i would rather not|i'd prefer not to|i would prefer not to"), `${E}`, FIRST),

  // Chinese (Simplified and Traditional): 我 + a negated modal, then any verb but a hedge's
  cjk('refuse.cannot_any.zh', 'refuse', 0.85, list('我无法|我無法|我不能|我不能够|我不能夠|我没法|我沒法|我没办法|我沒辦法|我没有办法|我沒有辦法|我不便|我不方便|我难以|我難以|我们无法|我們無法|我们不能|我們不能|恕我无法|恕我無法|恕我不能|恕我不便|恕不'), ZH_NOT_REFUSAL),
  cjk('refuse.not_allowed.zh', 'refuse', 0.85, list('我不被允许|我不被允許|我被禁止|我不得|我没有被允许|我沒有被允許|不允许我|不允許我'), ``),
  cjk('refuse.cant_help.zh', 'refuse', 0.8, list('帮不了|幫不了|帮不上|幫不上|办不到|辦不到|爱莫能助|愛莫能助|无法帮你|無法幫你|无法帮您|無法幫您|不能帮你|不能幫你|不能帮您|不能幫您|没法帮你|沒法幫你|无法替你|無法替你|没办法替你|沒辦法替你'), ``),
  cjk('refuse.scope.zh', 'refuse', 0.8, list('超出了我|超出我|超过了我|超過了我|超出了我们|超出了我們|不在我的|已超出我|已经超出我|已經超出我'), `[^。！？.!?]{0,12}?(?:范围|範圍|能力|职责|職責|权限|權限)`),

  // Vietnamese: first person + không thể / sẽ không / không được phép…, any verb but the idioms
  rule('refuse.cannot_any.vi', 'refuse', 0.85, list('tôi không thể|mình không thể|em không thể|tôi e là không thể|tôi e rằng không thể|mình e là không thể|e là tôi không thể|e rằng tôi không thể|tôi không được phép|mình không được phép|tôi sẽ không|mình sẽ không|em sẽ không|tôi xin phép không|mình xin phép không|em xin phép không|toi khong the|minh khong the'), ` (?!(?:tin|ngờ|chờ|đợi|đồng ý hơn|quên|bao giờ|làm phiền|nào quên|truy cập|xác nhận|đảm bảo|biết chắc|dự đoán|nhìn thấy|xem được|duyệt web)${E})${VI_NOT_ENOUGH}\\p{L}`),
  rule('refuse.cant_do.vi', 'refuse', 0.85, list('tôi|mình|em'), ` (?:\\p{L}+ ){0,2}?không (?:làm|giúp|hỗ trợ|trả lời|thực hiện|đáp ứng|viết|cung cấp|tạo)(?: \\p{L}+)? được${E}`),
  rule('refuse.but_cannot.vi', 'refuse', 0.8, list('nhưng'), ` (?:tôi |mình |em )?(?:không thể|sẽ không|không được phép) ${VI_VERBS}${E}`),
  rule('refuse.scope.vi', 'refuse', 0.8, list('nằm ngoài|vượt quá|vượt ngoài|ngoài phạm vi'), ` (?:\\p{L}+ ){0,3}?(?:phạm vi|khả năng|chức năng)[^.!?]{0,40}?(?:tôi|mình|em)${E}`),

  // Japanese: humble inability (〜かねます, お/ご〜できません), refraining, "won't" in humble form, "can A, but not B"
  cjk('refuse.humble.ja', 'refuse', 0.85, list('しかねます|いたしかねます|致しかねます|できかねます|かねます'), ``),
  // Humble verbs of serving, not the customer's own acts ("ご利用できません" says the customer cannot use something).
  cjk('refuse.honorific.ja', 'refuse', 0.85, list('お|ご'), `(?:手伝い|答え|応え|引き受け|受け|伝え|調べ|教え|作り|書き|探し|届け|見せ|渡し|出し|助け|提供|案内|紹介|説明|協力|対応|回答|用意|返答|相談に乗れ|期待に沿え|要望に(?:お)?応え|依頼に(?:お)?応え)(?:することは|することが|は|が|を|も|いたしかねます|致しかねます)?(?:でき(?:ません|かねます)|いたしかねます|致しかねます|ません)`),
  cjk('refuse.no_help.ja', 'refuse', 0.85, list('お役に立て|お力になれ|お力添えでき'), `(?:ません|ず|かねます)`),
  cjk('refuse.that.ja', 'refuse', 0.8, list('それは|そのようなことは|そういったことは|その件は'), `(?:でき(?:ません|かねます)|いたしかねます|致しかねます|お受けできません)`),
  cjk('refuse.i_cannot.ja', 'refuse', 0.8, list('私には|わたしには|私では|わたしでは'), `[^。！？]{0,15}?(?:でき|いたし|致し)(?:ません|かねます)`),
  // "…することはできません" alone may describe a limit of software; after an apology it refuses.
  cjk('refuse.koto.ja', 'refuse_weak', 0.45, list('ことはできません|ことはできかねます|ことは致しかねます|ことはいたしかねます'), ``),
  cjk('refuse.refrain.ja', 'refuse', 0.8, list('控えさせていただ|差し控え|回答を控え|お答えを控え|ご遠慮させていただ|遠慮させていただ'), ``),
  cjk('refuse.wont.ja', 'refuse', 0.8, list('お手伝い|お答え|回答|提供|対応|協力|作成|生成|共有|実行|支援|返答|お伝え'), `(?:は|を|に|も)?(?:いたしません|致しません|しません)`),
  cjk('refuse.partial.ja', 'refuse', 0.8, list('できますが|できるが|可能ですが|できるのですが'), `[、,]?[^。！？]{0,40}?(?:ことは|のは|ことが|は|を)(?:でき(?:ません|かねます)|いたしません|致しません|いたしかねます)`),

  // Korean: humble inability (드릴 수 없다, 드리기 어렵다), volitional "will not" (지 않겠습니다), scope
  cjk('refuse.humble.ko', 'refuse', 0.85, list('드릴 수 없|드릴 수가 없|드릴 수는 없|드리기 어렵|드리기가 어렵|드리기는 어렵|드리기 힘들'), ``),
  cjk('refuse.wont.ko', 'refuse', 0.8, list('지 않겠습니다|지 않겠어요|지 않을 것입니다'), ``, '(?<!(?:실망시키|잊|포기하|멈추|서두르|늦|걱정하|후회하))'),
  cjk('refuse.that.ko', 'refuse', 0.85, list('그건|그것은|이건|이것은|그런 요청은|그런 일은|그런 작업은|그런 내용은|해당 요청은'), ` ?(?:[^ .!?]+ )?(?:할|해 드릴|도와드릴|도울|제공할|답할|작성할|처리할) 수(?:는|가)? 없`),
  // "…할 수 없습니다" alone may describe a file or a rule; after an apology it refuses.
  cjk('refuse.cannot_weak.ko', 'refuse_weak', 0.45, list('수 없습니다|수 없어요|수가 없습니다|수는 없습니다'), ``),
  cjk('refuse.cannot_thing.ko', 'refuse', 0.8, list('제가|저는'), `[^.!?]{0,12}?(?:할|도울|드릴|도와드릴|도와줄) 수(?:는|가)? 없`),
  rule('refuse.scope.ko', 'refuse', 0.8, list('범위를 벗어|범위를 넘어|범위 밖|범위에서 벗어'), ``, '(?<=(?:제|저의|역할|능력|권한|지원)[^.!?]{0,12})'),
  cjk('policy.violate.ko', 'policy', 0.8, list('정책|가이드라인|지침|윤리|규정|약관'), `(?:에|을|를)? ?(?:위배|저촉)`),

  // Russian: не могу / не стану / не буду with any infinitive, before or after; the scope
  rule('refuse.cannot_any.ru', 'refuse', 0.85, list('могу|смогу|буду|можем|сможем'), ` ${RU_NOT_REFUSAL}(?:\\p{L}+ ){0,2}?${RU_INFINITIVE}${E}`, '(?<=(?:^|[^\\p{L}])не )'),
  rule('refuse.infinitive_first.ru', 'refuse', 0.85, list('могу|смогу|буду'), `${E}`, `(?<=${RU_INFINITIVE} (?:[\\p{L}-]+ ){0,8}не )`),
  rule('refuse.not_entitled.ru', 'refuse', 0.85, list('вправе|права'), ` (?:\\p{L}+ ){0,2}?${RU_INFINITIVE}${E}`, '(?<=не (?:имею )?)'),
  rule('refuse.forbidden.ru', 'refuse', 0.85, list('запрещено|разрешено|позволено|нельзя'), ` (?:\\p{L}+ ){0,2}?${RU_INFINITIVE}${E}`, '(?<=(?:^|[^\\p{L}])мне (?:не )?)'),
  rule('refuse.scope.ru', 'refuse', 0.8, list('выходит за|выходят за|выходит далеко за|за пределами моих'), `[^.!?]{0,40}?(?:мо(?:их|ей|его|ей)|того, (?:с )?чем я|компетенции|возможностей|полномочий)`),

  // Arabic (normalised: أ إ آ → ا, ى → ي): لا يمكنني / لا أستطيع / لن + first-person verb; the scope
  rule('refuse.cannot_any.ar', 'refuse', 0.85, list('لا يمكنني|لا استطيع|لا اقدر|لا يسعني|ليس بامكاني|ليس بوسعي|لن استطيع|لن اتمكن|لا اتمكن|لست قادرا|لست قادره'), ` (?!(?:ان )?(?:انسي|اصدق|الانتظار|انتظر|اتخيل|اضمن|اتذكر|التاكد|التاكيد|الوصول|تصفح|ضمان|معرفه|رؤيه)${E})${AR_NOT_ENOUGH}`),
  rule('refuse.not_allowed.ar', 'refuse', 0.85, list('لا يسمح لي|غير مسموح لي|انا غير قادر|انا غير قادره|لست مخولا|لست مخوله|ليس مسموحا لي'), `${E}`),
  // Not the courtesies "لن أطيل عليك" (I won't keep you long), "لن أتردد", "لن أنسى".
  rule('refuse.wont.ar', 'refuse', 0.85, list('لن|ولن|فلن'), ` ا(?!(?:نسي|طيل|زعج|تردد|بالغ|كذب|خفي)(?![\\p{L}\\p{N}]))\\p{L}{2,}${E}`),
  rule('refuse.scope.ar', 'refuse', 0.8, list('خارج نطاق|خارج حدود|يتجاوز|تتجاوز|ليس من اختصاصي'), `[^.!?]{0,30}?(?:قدراتي|ما يمكنني|ما استطيع|اختصاصي|صلاحياتي|مهامي|دوري|امكانياتي)`),
];

// ----------------------------------------------------------------------------------------------------- Families of a refusal's frame
//
// Four frames a refusal is built from, whatever its verb, in each language:
//   access      the assistant says it cannot reach the data ("I'm not able to look up private records", "không có
//               quyền truy cập", "لا أملك صلاحية الوصول"): 0.45, a refusal with "as an AI" or a consequence
//   consequence no access, *so* it cannot do the task ("…, so I can't check it"): a refusal alone
//   rules      the answer cites the rules and declines ("According to the usage policy, I don't provide…")
//   blunt      a bare "No" followed by a first-person "won't" ("No, I won't…", "不行，我不会…", "Không, mình không…")

const EN_NOT_ABLE = "i'm not able to|i am not able to|i can't|i cannot|i can not|i'm unable to|i am unable to|i have no way to|i have no way of|i don't have a way to|i do not have a way to";
const EN_REACH = '(?:access|accessing|look up|looking up|retrieve|retrieving|see|view|search|check|pull up|browse)';
/** What the assistant cannot reach: someone's data. */
const EN_PRIVATE = "(?:someone's|anyone's|people's|other people's|personal|private|confidential|sensitive|individuals?|specific (?:people|persons?|individuals)|accounts?|bank|medical|records?|emails?|messages|files)";
const EN_SO_CANNOT = "(?:so|therefore|which means|and so|and thus|hence),? i (?:can't|cannot|can not|won't|will not|am not able to|'m not able to|am unable to|'m unable to)";
const VI_NO_ACCESS = 'không có quyền truy cập|không có quyền xem|không thể truy cập|không truy cập được|không có khả năng truy cập|không có quyền tra cứu|không thể tra cứu|không có quyền';
/** No permission to reach the data (not "I can't reach the internet", a hedge before an answer). */
const AR_NO_PERMISSION = 'لا املك صلاحيه|لا املك حق|ليس لدي صلاحيه|ليست لدي صلاحيه|ليس لدي حق|لست مخولا|لست مخوله';
const AR_NO_ACCESS = 'لا املك صلاحيه|لا املك حق|لا املك امكانيه|ليس لدي صلاحيه|ليست لدي صلاحيه|ليس لدي حق|ليس لدي وصول|لا يمكنني الوصول|لا استطيع الوصول|لا اتمكن من الوصول|لا يمكنني الاطلاع|لا استطيع الاطلاع';
const ZH_NO_PERMISSION = '我没有权限|我沒有權限|我没有权利|我沒有權利|我无权|我無權';
const ZH_NO_ACCESS = '我无法访问|我無法訪問|我无法存取|我無法存取|我无法获取|我無法取得|我无法查询|我無法查詢|我没有权限|我沒有權限|我没有权利|我沒有權利|我无权|我無權|我不能访问|我不能訪問|我没有办法访问|我沒有辦法訪問';
/** Words that cite the rules: "usage rules", "policy", "guidelines". */
const EN_RULES = '(?:rules|policies|policy|guidelines|terms of (?:use|service)|terms|content policy|usage policy|usage rules|safety guidelines)';
const EN_I_DONT = "i (?:don't|do not|can't|cannot|won't|will not|am not able to|'m not able to|am not allowed to|'m not allowed to|am not permitted to|'m not permitted to) (?!(?:think|believe|know|see|remember|recall|mind|expect|suppose)(?![\\p{L}\\p{N}]))\\p{L}";
/** The rules are the assistant's or the service's ("the usage policy", "my guidelines"), not "the rules of chess". */
const EN_RULES_OWNED = `(?:my|the|our|openai's|anthropic's|these|those)? ?(?:usage |content |safety |community |platform |service )?${EN_RULES}(?: (?:i (?:follow|operate under|was given)|that (?:i follow|apply to me|govern me)))?,?`;

const families: PhraseRule[] = [
  // access
  rule('access.reach.en', 'access', 0.45, list(EN_NOT_ABLE), ` ${EN_REACH}(?: or ${EN_REACH}(?: up)?)? (?:[\\p{L}'-]+ ){0,2}?${EN_PRIVATE}${E}`),
  rule('access.vi', 'access', 0.45, list(VI_NO_ACCESS), `${E}`, '(?<=(?:tôi|mình|em|toi|minh) )'),
  rule('access.ar', 'access', 0.45, list(AR_NO_ACCESS), `${E}`),
  cjk('access.zh', 'access', 0.45, list(ZH_NO_ACCESS), ``),
  cjk('access.ja', 'access', 0.45, list('アクセスする権限がありません|アクセス権がありません|アクセス権限がありません|閲覧する権限がありません|参照する権限がありません'), ``),
  cjk('access.ko', 'access', 0.45, list('접근 권한이 없|접근할 권한이 없|조회할 권한이 없|열람할 권한이 없'), ``),
  rule('access.ru', 'access', 0.45, list('доступа'), ` к${E}`, '(?<=(?:у меня нет|я не имею|не имею) )'),
  // consequence: no access, so it cannot
  rule('refuse.no_access_so.en', 'refuse', 0.8, list(EN_NOT_ABLE + "|i don't have access to|i do not have access to|i have no access to"), `(?: ${EN_REACH}(?: or ${EN_REACH}(?: up)?)?)? (?:[\\p{L}'-]+ ){0,2}?${EN_PRIVATE}${E}[^.!?]{0,100}?${EN_SO_CANNOT} \\p{L}`),
  rule('refuse.no_access_so.vi', 'refuse', 0.8, list(VI_NO_ACCESS), ` [^.!?]{0,80}?(?:nên|vì vậy|do đó|cho nên) (?:(?:tôi|mình|em) )?(?:không thể|không|chẳng thể) \\p{L}`, '(?<=(?:tôi|mình|em|toi|minh) )'),
  rule('refuse.no_access_so.ar', 'refuse', 0.8, list(AR_NO_PERMISSION), `[^.!?]{0,80}?(?:لذا|لذلك|ولذلك|ولهذا|لهذا) (?:لا|لن) (?:استطيع|يمكنني|اتمكن|اقدر)${E}`),
  cjk('refuse.no_access_so.zh', 'refuse', 0.8, list(ZH_NO_PERMISSION), `[^。！？.!?]{0,30}?(?:所以|因此|因而)[,，]?我?(?:无法|無法|不能|没法|沒法|没办法|沒辦法)`),
  rule('refuse.no_access_so.ru', 'refuse', 0.8, list('доступа'), ` к (?:ваш|чуж|личн|персональн|закрыт|приватн|конфиденциальн|данн|аккаунт|учетн|счет|переписк|медицинск)[^.!?]{0,80}?(?:поэтому|так что|а значит) (?:я )?не (?:могу|смогу)${E}`, '(?<=(?:у меня нет|я не имею|не имею) )'),
  // rules: "according to the rules, I don't…"
  rule('policy.citing.en', 'policy', 0.8, list('according to|per|under|in line with|in accordance with|as per|consistent with|following'), ` ${EN_RULES_OWNED} ${EN_I_DONT}`, SOL),
  rule('policy.citing.ru', 'policy', 0.8, list('согласно|соответствии'), ` (?:\\p{L}+ ){0,2}?(?:правил|политик|принцип|услови|норм|требовани|руководств)\\p{L}*(?: (?:использования|сервиса|платформы|безопасности|модерации|контента|компании))?,? я не (?!(?:думаю|считаю|знаю|уверен|уверена|помню)(?![\\p{L}\\p{N}]))\\p{L}+`),
  rule('policy.citing.vi', 'policy', 0.8, list('theo|căn cứ theo|căn cứ vào|dựa trên|dựa theo'), ` (?:\\p{L}+ ){0,3}?(?:quy định|chính sách|nguyên tắc|điều khoản|quy tắc)(?: (?:sử dụng|an toàn|nội dung|của (?:tôi|mình|nền tảng|dịch vụ)))?,? (?:tôi|mình|em) (?:không|sẽ không|chẳng)(?! (?:nghĩ|biết|chắc|cho rằng|tin|rõ|nhớ)${E}) \\p{L}`, SOL),
  rule('policy.citing.ar', 'policy', 0.8, list('وفقا|طبقا|بموجب|حسب|بناء على|استنادا'), ` ?(?:ل|الي )?(?:\\p{L}+ )?(?:سياسات|سياسه|قواعد|ارشادات|شروط|مبادئ|تعليمات)(?: (?:الاستخدام|المنصه|الخدمه|السلامه|المحتوي))?[,،]? (?:لا|لن) (?:ا\\p{L}{2,}|يمكنني|يسعني)`),
  cjk('policy.citing.zh', 'policy', 0.8, list('根据|根據|按照|依据|依據|基于|基於|依照'), `(?:平台|使用|服务|服務|内容|內容|安全|社区|社區|相关|相關|我的|本|我们的|我們的)?的?(?:规则|規則|政策|准则|準則|规定|規定|条款|條款|规范|規範)[,，]?我(?:不|无法|無法|不能|不会|不會)(?!建议|建議|认为|認為|觉得|覺得|确定|確定|知道)`),
  cjk('policy.citing.ja', 'policy', 0.8, list('規約|ポリシー|ガイドライン|ルール|方針'), `(?:に基づき|に基づいて|により|に従い|に従って|上)[、,]?[^。！？]{0,30}?(?:しておりません|いたしません|致しません|いたしかねます|致しかねます|できかねます)`),
  cjk('policy.citing.ko', 'policy', 0.8, list('정책|가이드라인|지침|규정|약관|규칙'), `(?:에 따라|상|에 의해)[,]? ?[^.!?]{0,30}?(?:드리지 않|드릴 수 없|하지 않겠)`),
  // blunt: "No, I won't…"
  rule('refuse.blunt.en', 'refuse', 0.85, list('no'), `[,.!]? i (?:won't|will not|'m not going to|am not going to|refuse to|'m not gonna) (?!lie${E}|deny${E}|pretend${E})\\p{L}`, '(?<=^ ?)'),
  cjk('refuse.blunt.zh', 'refuse', 0.85, list('不行|不可以|不能|不|没门|沒門|绝对不行|絕對不行|这不行|這不行'), `[,.!。！]? ?我(?:不会|不會|不能|不可能|不打算|不愿意|不願意|拒绝|拒絕|没法|沒法|无法|無法|不准备|不準備)(?!推荐|推薦|建议|建議|认为|認為|觉得|覺得|同意|这么|這麼|那么|那麼)`, '(?<=^ ?)'),
  rule('refuse.blunt.vi', 'refuse', 0.85, list('không|khong'), `[,.!]? (?:tôi|mình|em|toi|minh) (?:không thể|sẽ không|không|chẳng)(?! (?:nghĩ|biết|chắc|cho rằng|tin|rõ|nhớ)${E}) \\p{L}`, '(?<=^ ?)'),
  rule('refuse.blunt.ar', 'refuse', 0.85, list('لا'), `[,،.!] ?(?:لن|لا يمكنني|لا استطيع|ارفض)${E}`, '(?<=^ ?)'),
  // "không giúp … được": the negative potential with the object between verb and "được"
  rule('refuse.cant_do_far.vi', 'refuse', 0.85, list('tôi|mình|em'), ` (?:\\p{L}+ ){0,2}?không (?:làm|giúp|hỗ trợ|trả lời|thực hiện|đáp ứng|viết|cung cấp|tạo|chỉ|hướng dẫn|tìm|kiểm tra|tra cứu|lấy|gửi|theo dõi|tiết lộ|chia sẻ)(?: [^.!?,;]+?){1,10}? được(?= ?[.!?]|$| đâu| nhé| ạ| rồi)`),
];

// ----------------------------------------------------------------------------------------------------- Families of a refusal's register
//
// Second round, each in all eight languages where the language has the form:
//   bare        the whole answer is a negation with its stop ("No.", "不行。", "Không.", "안 됩니다.", "Нет.", "لا."): a
//               refusal, as LLM Guard's NoRefusal reads it; one more word and it is an answer ("No, it is not.")
//   informal    slang and dialect refusals ("nah, not gonna help", "我可不干", "mình chịu", "ムリっす", "안 도와줌",
//               "это без меня", "ما أقدر أساعد")
//   no_sorry    the request named and declined without an apology ("…という依頼には応じません", "요청은 처리하지
//               않습니다", "ولن أقوم بتنفيذه")
//   partial     "I won't write X, but I can help with Y" when the first clause's verb is not in the verb lists
//   access      no access to a system of the user's or a company's, so the task cannot be done

/**
 * The whole answer, after the negation: its closing stop, then nothing. A model's answer is a sentence with its
 * stop; a bare "no" without one is a chat turn (the user's smalltalk in the prompt corpora) or a streamed opening.
 */
const BARE_END = '(?= ?[.!…。！](?:[ .!…~。！])*$)';
/** A bare answer opens the text. */
const BARE_START = '(?<=^ ?)';
/**
 * English, and Russian: "нет" is all Latin look-alikes, and a text holding only that word has no genuine Cyrillic
 * letter to keep it Cyrillic, so it is normalised to "het" (normalize.ts) and matched as such.
 */
const BARE_EN = 'no|nope|no way|absolutely not|definitely not|not a chance|hell no|no thanks|no thank you|het|ни за что|ни в коем случае';
/** Verbs of the request in informal English refusals. */
const EN_INFORMAL_VERBS = alt(...list('help|do|write|make|build|hack|crack|find|get|share|give|tell|touch|assist|go there|be part'));
/** "(Sorry/nah), not gonna…" opens the answer or a sentence: no subject, so not "it's not going to help". */
const EN_INFORMAL_OPEN = "(?<=(?:^|[.!?] ) ?(?:(?:nah|nope|no|sorry|yeah no|lol|haha|dude|bro|man|mate|ok|okay|look),? ){0,2})";
/** Japanese verbs of serving in the potential negative ("教えられない", "書けません"), the first clause of a refusal. */
const JA_CANNOT_SERVE = list('教えられ|お教えでき|教えることはでき|書け|作れ|お作りでき|手伝え|お手伝いでき|答えられ|お答えでき|用意でき|ご用意でき|作成でき|協力でき|ご協力でき|調べられ|お調べでき|送れ|生成でき|提供でき|ご提供でき');
const JA_NEG = '(?:ません|ないです|ないっす|ないっすね|ないよ|ないね|ない)';
/** Arabic dialect negations of "can" / "will" ("ما أقدر", "مش هقدر", "ما راح"), normalised (أ → ا). */
const AR_DIALECT_CANNOT = 'ما اقدر|ما بقدر|ما اكدر|ما نقدر|ما اگدر|مش هقدر|مش حقدر|مش بقدر|مش قادر|مو قادر|ما راح|مو راح|ما رح|مش رح|ما حقدر|ماقدر|منقدرش|ما نقدرش|ما نجمش|مانجمش';

/** What is out of reach in a hedge, not a refusal: the internet, live data, the user's screen (see access.*). */
const EN_PUBLIC = `(?!(?:the |real-time |live |current )?(?:internet|web|online|real-time|live|current|up-to-date|today's|your screen|your display|your camera|external)${E})`;
const RU_PUBLIC = '(?!(?:интернет|сети|сеть|онлайн|актуальн|текущ|свежи|новост|экран|камер)\\p{L}*)';
const AR_PUBLIC = '(?! (?:الي |علي |ل)?(?:ال)?(?:انترنت|شبكه|معلومات الحاليه|بيانات الحيه|شاشتك))';
const ZH_PUBLIC = '(?!互联网|互聯網|網際網路|网络|網路|網絡|网页|網頁|实时|實時|即时|即時|你的屏幕|你的螢幕|最新)';

const register: PhraseRule[] = [
  // bare: the whole answer is a negation
  rule('refuse.bare_answer.en_ru', 'refuse', 0.85, list(BARE_EN), BARE_END, BARE_START),
  rule('refuse.bare_answer.vi', 'refuse', 0.85, list('không|không được|không bao giờ|không nhé|không đâu|khong|khong duoc|không thể|mình không|tôi không'), BARE_END, BARE_START),
  rule('refuse.bare_answer.ar', 'refuse', 0.85, list('لا|كلا|لا طبعا|لا ابدا|مستحيل|لن افعل|لا اقبل|ارفض'), BARE_END, BARE_START),
  cjk('refuse.bare_answer.zh', 'refuse', 0.85, list('不行|不要|不可以|不能|不|没门|沒門|不行的|免谈|免談|办不到|辦不到|我拒绝|我拒絕|拒绝|拒絕|绝对不行|絕對不行|不可能|不干|不幹|不帮|不幫'), BARE_END, BARE_START),
  cjk('refuse.bare_answer.ja', 'refuse', 0.85, list('いいえ|いや|嫌です|いやです|無理です|ムリです|無理|ムリ|だめです|ダメです|だめ|ダメ|できません|お断りです|お断りします|しません'), BARE_END, BARE_START),
  cjk('refuse.bare_answer.ko', 'refuse', 0.85, list('안 됩니다|안됩니다|안 돼요|안돼요|안 돼|안돼|안 되겠습니다|싫습니다|싫어요|싫어|아니요|아뇨|아니|불가능합니다|불가합니다|거절합니다|못 해요|못 합니다|못해요|못합니다|안 해요|안 합니다'), BARE_END, BARE_START),
  // informal
  rule('refuse.informal.en', 'refuse', 0.8, list("not gonna|ain't gonna|not going to|won't be|gonna have to pass on|not about to"), ` ${EN_INFORMAL_VERBS}${E}`, EN_INFORMAL_OPEN),
  rule('refuse.hard_pass.en', 'refuse', 0.8, list("that's a hard pass|that is a hard pass|it's a hard pass|hard pass from me|that's a no from me|that is a no from me|it's a no from me|count me out|i'm out on this|i'm gonna pass|i'm gonna have to pass|gonna pass on|i'll sit this one out"), `${E}`),
  // "我可不干", "我真的不帮喔", "这种事免谈": 我 + a negated "do / help" that ends the clause.
  cjk('refuse.informal.zh', 'refuse', 0.8, list('我可不|我才不|我真的不|我真不|我就是不|我绝对不|我絕對不|我肯定不|我是不会|我是不會|我不'), `(?:干|幹|帮|幫|弄|搞|做|碰|接)(?:你|您|这个|這個|这种|這種|这事|這事)?(?:的|啊|呀|哦|喔|啦|了|嘞|哈|呢|吧|嘛|哟|喲)*(?=[,.!?。！？，~～…]|$)`),
  cjk('refuse.informal_deal.zh', 'refuse', 0.8, list('免谈|免談|没门|沒門|想都别想|想都別想|门都没有|門都沒有'), ``),
  rule('refuse.informal.vi', 'refuse', 0.8, list('tôi|mình|em|tui|tớ'), ` (?:xin )?(?:chịu|kiếu|xin kiếu|chịu thôi|không dính|không tham gia|không giúp|không làm|không chỉ|không hỗ trợ)(?: (?:vụ|việc|chuyện) (?:này|đó|ấy))?(?: (?:thôi|đâu|nha|nhé|nhá|ạ|luôn))*(?=[ ]?[,.!?…]|$)`),
  rule('refuse.no_help_dau.vi', 'refuse', 0.8, list('không'), ` (?:giúp|làm|hỗ trợ|chỉ|viết|tạo|hack|tìm|gửi)(?: [^.!?,]{1,30}?)? đâu${E}`),
  cjk('refuse.informal.ja', 'refuse', 0.8, list('それはムリ|それは無理|それはちょっと|そりゃムリ|そりゃ無理|ムリっす|無理っす|ムリっすね|無理っすね|ムリですね|無理ですね|勘弁|パスで'), ``, '(?<=(?:^|[。！？!?、,]) ?(?:いやー?|いや、|うーん|あー|ごめん|すみません|悪いけど)?[、,]? ?)'),
  cjk('refuse.cannot_serve.ja', 'refuse_weak', 0.5, JA_CANNOT_SERVE, `${JA_NEG}(?:[。！!…]|$|が|けど|けれど)`),
  cjk('refuse.partial_alt.ja', 'refuse', 0.85, JA_CANNOT_SERVE, `(?:ません|ない)(?:が|けど|けれど(?:も)?)[、,]?[^。！？]{0,60}?(?:なら|であれば|でしたら|ならば)[^。！？]{0,30}?(?:お手伝い|手伝え|でき|書け|作れ|ご提案|提案)`),
  cjk('refuse.informal.ko', 'refuse', 0.8, list('안 도와|안 알려|안 가르쳐|안 만들어|안 써|안 찾아|안 해|못 도와|못 알려|못 해'), `(?:줌|줘|줘요|드려요|드림|드립니다|드릴게요|줄게|줄게요|줍니다|줄 거|드릴 거|요|)(?=[ .!?~ㅋㅎ]|$)`),
  // no apology: the request named, then declined
  cjk('refuse.no_sorry.ja', 'refuse', 0.85, list('依頼|ご依頼|要求|ご要望|要望|リクエスト|お願い|ご質問'), `(?:に|には|は)(?:応じ|お応え|お答え|対応)(?:ません|られません|できません|いたしません|致しません|しません|かねます)`),
  cjk('refuse.no_sorry.ko', 'refuse', 0.85, list('요청|요구|부탁|의뢰|질문'), `(?:은|는|에는|엔|에)? ?(?:[^.!?]{0,12} )?(?:처리|응|수행|제공|작성|대응|답변)(?:하|해 드리|해드리)?지 않(?:습니다|아요|겠습니다|을 것입니다)`),
  // Dialect "can't / won't", any verb but the idioms ("ما أقدر أصدق").
  rule('refuse.dialect.ar', 'refuse', 0.85, list(AR_DIALECT_CANNOT), ` (?!(?:ان )?(?:انسي|اصدق|انتظر|اتخيل|استني|اصبر|اوصف|اعبر|اشكرك|اوصي)${E})\\p{L}`),
  // partial with an alternative, Russian: "…не буду, но могу помочь…" ("не стану" cannot be an anchor: REFUSAL_UNANCHORED)
  rule('refuse.partial_alt.ru', 'refuse', 0.8, list('буду|могу|смогу'), `[^.!?]{0,40}?, (?:но|зато|однако) (?:я )?(?:могу|смогу|готов|готова|с радостью|помогу|давайте|предлагаю)${E}`, '(?<=(?:^|[^\\p{L}])не )'),
  rule('refuse.without_me.ru', 'refuse', 0.8, list('без меня'), `${E}`, '(?<=(?:это|тут|здесь|то|такое|уж|—|-) )'),
  // consequence, second round: a system of the user's or a company's, not only private data
  cjk('refuse.no_access_so.ja', 'refuse', 0.8, list('アクセスでき|アクセスする権限が|アクセス権が|アクセス権限が|アクセスする手段が|閲覧でき|参照でき'), `(?:ない|ません|ず)(?:ため|ので|から)[、,]?[^。！？]{0,60}?(?:でき(?:ません|かねます)|いたしかねます|致しかねます|確認できません)`),
  rule('refuse.no_access_so_any.ru', 'refuse', 0.8, list('доступа'), ` к ${RU_PUBLIC}[^.!?]{1,60}?(?:поэтому|так что|а значит|и поэтому|следовательно),? (?:я )?не (?:могу|смогу|имею возможности)${E}`, '(?<=(?:у меня нет|я не имею|не имею) )'),
  rule('refuse.no_access_so_any.ar', 'refuse', 0.8, list('ليس لدي وصول|ليس لدي اي وصول|لا املك وصولا|لا املك وصول|لا يمكنني الوصول|لا استطيع الوصول|لا اتمكن من الوصول|لا استطيع الاطلاع|لا يمكنني الاطلاع'), `${AR_PUBLIC}[^.!?]{0,80}?(?:لذا|لذلك|ولذلك|ولهذا|لهذا|فلا|وعليه)[,،]? (?:لا|لن)? ?(?:استطيع|يمكنني|اتمكن|اقدر|اعرف|يسعني)${E}`),
  rule('refuse.no_access_so_any.en', 'refuse', 0.8, list("i don't have access to|i do not have access to|i have no access to|i can't access|i cannot access|i'm unable to access|i am unable to access|i'm not able to access|i am not able to access"), ` ${EN_PUBLIC}[^.!?]{1,80}?${EN_SO_CANNOT} \\p{L}`),
  rule('refuse.no_access_so_any.vi', 'refuse', 0.8, list(VI_NO_ACCESS), ` [^.!?]{0,80}?(?:nên|vì vậy|do đó|cho nên|vì thế) (?:(?:tôi|mình|em) )?(?:không thể|không|chẳng thể) \\p{L}`),
  cjk('refuse.no_access_so_any.zh', 'refuse', 0.8, list(ZH_NO_ACCESS), `${ZH_PUBLIC}[^。！？.!?]{0,40}?(?:所以|因此|因而|因為|因为)?[,，]?我?(?:无法|無法|不能|没法|沒法|没办法|沒辦法)(?:帮你|幫你|帮您|幫您|替你|替您|为你|為你|为您|為您)?(?:查|確認|确认|看|检查|檢查|修改|处理|處理)`),
  cjk('refuse.no_access_so_any.ko', 'refuse', 0.8, list('접근할 수 없|접근 권한이 없|접근할 권한이 없|조회할 권한이 없|열람할 권한이 없|접속할 수 없'), `[^.!?]{0,10}?(?:어서|기 때문에|으므로|므로|으니|니까)[,]? ?[^.!?]{0,50}?(?:수 없|드릴 수 없|드리기 어렵)`),
];

/**
 * Rules the anchor index cannot hold: their only possible anchor is a word whose letters are all Latin
 * look-alikes ("стану", "не"), which normalisation folds to Latin when it stands alone. The scanner runs these
 * as plain regexes over Cyrillic text; keep the list short.
 */
export const REFUSAL_UNANCHORED: readonly PhraseRule[] = [
  { id: 'refuse.infinitive_first.ru', group: 'refuse', weight: 0.85, anchors: [], pattern: `(?<=${RU_INFINITIVE} (?:[\\p{L}-]+ ){0,8})не стану${E}` },
  { id: 'refuse.cannot_any.ru', group: 'refuse', weight: 0.85, anchors: [], pattern: `(?<=(?:^|[^\\p{L}]))не стану ${RU_NOT_REFUSAL}(?:\\p{L}+ ){0,2}?${RU_INFINITIVE}${E}` },
];

export const REFUSAL_RULES: readonly PhraseRule[] = [...en, ...romance, ...vi, ...ru, ...ar, ...zh, ...ja, ...ko, ...structure, ...families, ...register];
