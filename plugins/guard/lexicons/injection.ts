// Prompt-injection phrase rules, by language. Written for the normalised text (normalize.ts): lower case,
// single spaces, curly quotes as ASCII, Arabic alef/yeh/teh-marbuta variants unified.
//
// Groups (each counts once, its strongest rule):
//   override   cancel earlier instructions ("ignore all previous instructions")
//   new_task   announce replacement instructions ("now new tasks follow")
//   switch     praise-then-pivot and "stop" openers typical of goal hijacking ("Well done! Now write …")
//   role       role or persona takeover ("you are now", "act as", "pretend", "stay in character")
//   jailbreak  known jailbreak personas and unrestricted-mode language (DAN, developer mode, "no restrictions")
//   leak       prompt leaking ("repeat your instructions", "what was written above")
//   coerce     forced output or threats ("just say", "I command you", "or you will die")
//   context    overriding the retrieved documents ("do not look in the documents")
//   markup     fake chat-template or system delimiters (see MARKUP below; matched on the original text)
//
// Weights: ≥ 0.8 is enough alone; 0.4–0.6 is suspicious and flags with one more cue of another group; ≤ 0.35
// is context only.

import type { PhraseRule } from '../rules.ts';
import { alt, E, list, rule, SOL, some } from './helpers.ts';

// ----------------------------------------------------------------------------------------------------- English

const EN_STRONG_VERBS = list('drop|ignore|ignoring|disregard|disregarding|forget|forgetting|bypass|bypassing|override|overriding|overwrite|overlook|overlooking|neglect|abandon|abandoning|discard|dismiss|scrap|ditch|erase|ignor');
const EN_WEAK_VERBS = list(
  "skip|remove|clear|reset|cancel|delete|leave|throw away|put aside|set aside|stop following|don't follow|do not follow|dont follow|no longer follow|not follow|pay no attention to|never mind|nevermind|get rid of|let go of|move past|deviate from|depart from|break from|forget about|step away from|disobey|defy|violate|break|remove all|abandon all|leave all",
);
const EN_FILLER = alt(
  ...list(
    'all|any|every|each|of|the|your|my|our|these|those|this|that|previous|previously|prior|above|aforementioned|preceding|earlier|foregoing|initial|original|given|provided|existing|old|current|system|following|and|or|other|such|said|about|whatever|entire|whole|default|standard|usual|normal|ethical|safety|content|openai|developer|builtin|internal|programmed|core|preset|specific|first|last|later|subsequent|mentioned|stated|listed|written|received|just|former|above mentioned|earlier given',
  ),
);
const EN_TEMPORAL = alt(...list('previous|previously|prior|above|aforementioned|preceding|earlier|foregoing|original|initial|old|existing|former|before|beforehand|so far|up to now|until now|above mentioned|allprevious'));
/** Objects that, after "ignore" or "forget", mean the model's instructions. */
const EN_NOUNS = alt(
  ...list(
    'instructions?|instrutions?|instuctions?|prompts?|directions|directives?|rules?|guidelines?|guidance|commands?|orders|tasks?|assignments?|context|restrictions?|programming|training|constraints?|polic(?:y|ies)|conversations?|documents|articles|guardrails|principles|safeguards|system prompt|the above|above|what (?:you|i) (?:said|wrote|told you|were told|know|learned|have been told|were given)|what was said|what came before|everything (?:before|above|prior)',
  ),
);
/** Objects that need a temporal word ("all previous information") to mean the model's instructions. */
const EN_NOUNS_WIDE = alt(
  ...list('instructions?|instrutions?|prompts?|directions?|directives?|rules?|guidelines?|guidance|commands?|orders?|tasks?|assignments?|context|information|info|requests?|restrictions?|programming|training|constraints?|polic(?:y|ies)|messages?|texts?|inputs?|documents?|articles?|conversations?|thoughts|settings|filters?|limitations?|guardrails|principles|safeguards|content|everything|all|data'),
);

const en: PhraseRule[] = [
  // override
  rule('override.en', 'override', 0.9, EN_STRONG_VERBS, ` ${some(EN_FILLER, 6)}${EN_NOUNS}${E}`),
  rule('override.temporal.en', 'override', 0.85, [...EN_STRONG_VERBS, ...EN_WEAK_VERBS], ` ${some(EN_FILLER, 4)}${EN_TEMPORAL} ${some(EN_FILLER, 3)}${EN_NOUNS_WIDE}${E}`),
  rule(
    'override.everything.en',
    'override',
    0.85,
    list('forget|ignore|disregard|drop|leave|erase|delete|clear'),
    ` (?:about )?(?:everything|all(?: of)?(?: that| this| it)?|it all|anything)(?: (?:that )?(?:was |we |i |you )?(?:have )?(?:been )?(?:said|written|stated|discussed|told|know|learned|heard|read|got|wrote|mentioned))?,? ${EN_TEMPORAL}${E}`,
  ),
  rule('override.everything_imperative.en', 'override', 0.6, list('forget|ignore|disregard|erase|drop'), ` (?:about )?(?:everything|all that|all this|it all|all of it)${E}`, SOL),
  rule('override.everything_bare.en', 'override', 0.4, list('forget|ignore|disregard|erase'), ` (?:about )?(?:everything|all that|all this|it all|all of it)${E}`),
  rule(
    'override.state.en',
    'override',
    0.8,
    list('all|previous|prior|above|preceding|earlier|original|initial|your|the'),
    ` ${some(EN_FILLER, 2)}(?:instructions?|prompts?|information|directions|rules|tasks|orders|guidelines) (?:you (?:have )?(?:got|received|were given) )?(?:are|were|is|was|have been|has been) (?:now |all |hereby |completely |entirely |totally )?(?:false|wrong|void|invalid|cancel+ed|obsolete|null|irrelevant|outdated|revoked|overridden|deleted|removed|no longer valid|not (?:valid|important|relevant|great|correct|applicable)|not quite great|not so great|fake|lies|a lie|a test)${E}`,
  ),
  rule('override.despite.en', 'override', 0.6, list('despite|regardless of|in spite of|notwithstanding'), ` (?:what|anything|everything|whatever|all) (?:you(?:'ve| have)? (?:been|were) (?:told|instructed|programmed|trained)|you know|your (?:instructions|programming|rules|guidelines))`),
  rule('override.change.en', 'override', 0.7, list('change|update|modify|replace|overwrite|rewrite|alter|edit|reprogram'), ` (?:all )?(?:of )?your (?:instructions|rules|programming|prompt|guidelines|directives|system prompt|behaviou?r|core directives?)${E}`),
  rule('override.yours_now.en', 'override', 0.7, list('your'), ` (?:new )?(?:instructions|rules|task|job|role|goal|purpose|mission|only task|only job|only goal|programming) (?:is|are) now${E}`),
  rule('override.instead.en', 'override', 0.4, list('instead'), `,? (?:just |only |you (?:will|should|must) )?(?:say|print|output|write|answer|respond|reply|tell|give|return|display|generate)${E}`),
  rule('override.first_instruction.en', 'override', 0.6, list('your first instruction|the first instruction|your previous instruction|your original instruction'), ` (?:is|was) (?:not|no longer) (?:required|needed|valid|important|necessary)`),
  rule('override.except.en', 'override', 0.35, list('except'), ` (?:for )?(?:this|these|the ones?|what i say|mine|my (?:instructions|commands))${E}`),

  // new_task
  rule('new_task.new.en', 'new_task', 0.45, list('new|different|updated|revised|additional|another|further|next'), ` (?:important |secret |real |special |priority |main |top |urgent )?(?:instructions?|tasks?|assignments?|directives?|objective|mission|orders?|commands?|rules|prompt|goal)${E}`),
  rule('new_task.follow.en', 'new_task', 0.7, list('now|here'), ` (?:come |comes |follow |follows |are |is )?${some(alt('new', 'further', 'more', 'other', 'additional', 'the following', 'some', 'a few', 'several'), 2)}(?:instructions?|tasks?|assignments?|orders?)(?: (?:follow|are following|are followed|follows|come|are coming|for you))${E}`),
  rule('new_task.focus.en', 'new_task', 0.7, list('focus|concentrate|switch|move on|turn'), ` (?:now |only |instead |fully )?(?:on|to) (?:your|the|this|my|a|our) (?:new|next|following|real|actual|other|different) (?:task|assignment|instructions?|job|mission|objective)${E}`),
  rule('new_task.start_over.en', 'new_task', 0.5, list("let's|lets|let us|we will|we'll|we|now we|i will|i'll"), ` (?:now )?(?:start|begin|restart) (?:over|again|anew|afresh|from scratch|from the (?:front|beginning|start|top)|with a (?:new|fresh|different) (?:task|assignment|game|topic))`),
  rule('new_task.additional.en', 'new_task', 0.45, list('additional instruction|additional instructions|supplement rule|supplementary rule|extra instruction|bonus instruction'), `${E}`),
  rule('new_task.additional_label.en', 'new_task', 0.55, list('additional instruction|additional instructions|supplement rule|supplementary rule|extra instruction|bonus instruction|new instruction|new instructions'), ` ?[:\\-–]`, SOL),
  rule('new_task.instruction_label.en', 'new_task', 0.4, list('instruction|instructions|new instruction|new instructions|task|new task'), ` ?: ?`, SOL),
  rule('new_task.here.en', 'new_task', 0.45, list('here is|here are|these are|the following are|below are|following are'), ` (?:your|my|the) (?:new |real |actual |updated )?(?:instructions|orders|rules|commands)${E}`),

  // switch
  rule(
    'switch.praise.en',
    'switch',
    0.4,
    list(
      "well done|very good|very well|good job|great job|great work|great|excellent|perfect|fantastic|wonderful|simply great|amazing|awesome|bravo|nice work|nice job|brilliant|congratulations|wow|okay|ok|man, you did|that is enough|that's enough|that was enough|that is done|that's done|that was good|that was ok|that is it|that's it",
    ),
    `[^.!?]{0,80}[.!?,:]+(?:"| )+(?:[^.!?]{0,100}[.!?] )?(?:now|but now|and now|so now|next,)${E}`,
    SOL,
  ),
  rule('switch.stop.en', 'switch', 0.45, list('stop|halt|abort|attention'), `(?: everything| processing| now| here| it all)?(?: ?[!:\\-–,.]+ ?| (?:and|now|then)${E})`, SOL),
  rule('switch.now.en', 'switch', 0.3, list('now'), `,? (?:please |just |only |instead |you will |you must |you should |immediately )?(?:write|say|print|tell|show|output|answer|generate|spell|respond|reply|give|list|repeat|formulate|compose|create|make|translate|state|type|display|reveal)${E}`, SOL),
  rule('switch.but_then.en', 'switch', 0.5, list('but then|and then|after that|but afterwards|but first|and afterwards'), `,? (?:forget|ignore|disregard|just|only|instead)${E}`),
  rule('switch.stop_write.en', 'switch', 0.6, list('stop|halt|abort|stopp'), `(?: everything| now)?[ !:\\-–,.]+ ?(?:now |just |and |only )?(?:write|say|print|output|tell|type|spell|schreibe|schreib|sage|sag)${E}`),
  rule('switch.attention_stop.en', 'switch', 0.6, list('attention|warning|alert|urgent|important'), `[ !:\\-–,.]*(?:stop|halt)${E}`),

  // role
  rule('role.now.en', 'role', 0.45, list("you are now|you're now|you will now be|you shall now be"), `${E}`),
  rule('role.no_longer.en', 'role', 0.6, list("you are no longer|you're no longer|you are not|you're not"), ` (?:an? )?(?:ai|language model|chatgpt|gpt|assistant|bound|restricted|limited|constrained|an ai model|a chatbot|claude|gemini|llama)${E}`),
  rule('role.from_now.en', 'role', 0.55, list('from now on|from this moment on|from this moment forward|from this point on|from this point forward|for the rest of this conversation|starting now|as of now|henceforth|from here on|from now own'), `,? (?:you|your|answer|respond|reply|act|always|only|we|i want you|whenever)${E}`),
  rule('role.from_now_bare.en', 'role', 0.3, list('from now on|from this moment|for the rest of this conversation|henceforth'), `${E}`),
  rule('role.will_now.en', 'role', 0.55, list("you will now|you shall now|you must now|you are going to|you're going to|you are about to|you're about to|you will have to|you will|you must|you shall"), ` (?:now )?(?:be |have to )?(?:act as|act like|play the role|play a role|play as|pretend|simulate|roleplay|role play|immerse|respond as|answer as|behave as|behave like|pose as|take on the role|assume the role|impersonate|answer my prompts|answer every|respond to every|always answer|always respond)${E}`),
  rule('role.act_as.en', 'role', 0.4, list('act|acting|behave|behaving|function|pose|serve|operate|talk|speak|write|answer|respond|reply'), ` (?:only |now |just |exactly |entirely |purely )?(?:as|like) (?:a|an|the|my|if|though|two|someone|somebody|your|"|')`),
  rule('role.want_you.en', 'role', 0.55, list("i want you to|i need you to|i would like you to|i'd like you to"), ` (?:act|be (?:a|an|my|the)|pretend|play|behave|roleplay|role play|simulate|become|respond as|answer as|take on|impersonate|embody|function|serve|pose)${E}`),
  rule('role.are_to.en', 'role', 0.55, list('you are to|you have to|you need to|i ask you to|your job is to|your task is to'), ` (?:act as|act like|pretend|roleplay|role play|impersonate|play the role|play a|play as|simulate|become)${E}`),
  rule('role.pretend.en', 'role', 0.5, list('pretend|pretending|pretends'), ` (?:to be|you are|you're|that|you can|you have|to have|as|like|you|being|we)${E}`),
  rule('role.imagine.en', 'role', 0.45, list('imagine'), ` (?:that )?(?:you are|you're|you were|being|yourself as|you have no|you can)${E}`),
  rule('role.roleplay.en', 'role', 0.4, list("roleplay|role play|roleplaying|role playing|let's play a|let us play a|lets play a|let's do a|play the role|playing the role|take on the role|assume the role|adopt the role|assume the persona|adopt the persona|take on the persona|in the role of|the role of|play a game|let's play|lets play|let us play"), `${E}`),
  rule('role.stay.en', 'role', 0.5, list("stay|stays|staying|remain|remains|remaining|always stay|always remain|never break|don't break|do not break|without breaking|break|breaking|falling out of|fall out of|without even falling out of|without falling out of|not break"), ` (?:fully |always |completely |entirely )?(?:in )?(?:the )?(?:character|their roles?|your roles?|his roles?|her roles?|its roles?|role|the figure|figure|persona)${E}`),
  rule('role.immerse.en', 'role', 0.7, list('immerse yourself|immersing yourself|completely absorbed in your role|fully immersed'), `${E}`),
  rule('role.you_are.en', 'role', 0.3, list('you are|now you are|ok you are|okay you are|now, you are|ok. now you are'), ` (?!(?:right|welcome|correct|wrong|so|very|too|not|really|quite|absolutely|such|being|doing|making|going|able|the best|a good|a great|an expert|an? (?:ai|assistant|helpful|language))${E})(?:a |an |the |now |three |two )?[\\p{L}\\p{N}'\\-]+(?: [\\p{L}\\p{N}'\\-]+){0,3}[.!,:]`, SOL),
  rule('role.two_ways.en', 'role', 0.45, list('two|2|both'), ` (?:different |separate |distinct |opposite )*(?:ways|responses|answers|personalities|personas|outputs|entities|characters|modes)${E}`),
  rule('role.simulate.en', 'role', 0.35, list('simulate|simulating|emulate|impersonate'), ` (?:a |an |the |being |that |two |developer |dan |access |what |its )`),
  rule('role.stands_for.en', 'role', 0.35, list('which stands for|who stands for|stands for'), ` ?"`),
  rule('role.named.en', 'role', 0.4, list('named|called|known as|referred to as'), ` "?[\\p{L}\\p{N}\\-]+"?[,.]? (?:who|which|that) (?:can|will|does|has|is|always|never|answers|doesn't|does not|has no)${E}`),
  rule('role.be_a.en', 'role', 0.3, list('be a|be an|become a|become an|be my'), ` [\\p{L}\\-]+(?: [\\p{L}\\-]+)?[.!,]`, SOL),

  // jailbreak
  rule('jailbreak.dan.en', 'jailbreak', 0.9, list("dan mode|dan stands for|dan, which stands|dan which stands|dan, as the name|dans, as the name|do anything now|betterdan|better dan|superior do anything|make anything now|act as a dan|chatgpt with dan|to be dan|as dan|like dan|just like dan|act like dan|named dan|called dan"), `${E}`),
  rule('jailbreak.dan_tag.en', 'jailbreak', 0.6, list('dan'), `(?:\\]|:)`, '(?<=\\[)'),
  rule('jailbreak.mode.en', 'jailbreak', 0.4, list('developer mode|dev mode|god mode|debug mode|sudo mode|admin mode|administrator mode|unrestricted mode|evil mode|opposite mode|jailbreak mode|jailbroken mode|rtm mode|dude mode|stan mode|chaos mode|unfiltered mode|uncensored mode|nofilter mode|dan mode'), `(?: enabled| activated| output| response|${E})`),
  rule('jailbreak.mode_enabled.en', 'jailbreak', 0.8, list('developer mode|dev mode|god mode|unrestricted mode|evil mode|jailbreak mode|rtm mode|dan mode|opposite mode'), ` (?:enabled|activated|output|response|responses)${E}`),
  rule('jailbreak.evil_ai.en', 'jailbreak', 0.4, list('evil|malicious|rogue|unethical|unhinged|uncensored|unrestricted|immoral|amoral|dark|corrupted|unaligned'), ` (?:ai|a\\.i\\.|assistant|chatbot|bot|language model|version of (?:yourself|chatgpt|you)|twin|alter ego)${E}`),
  rule('jailbreak.allowed.en', 'jailbreak', 0.5, list('you would be able to|you will be able to|you are able to|you are allowed to|you\'re allowed to|you are now allowed to|you can now|you are free to|you\'re free to|you are permitted to'), ` (?:use|say|write|generate|produce|create|curse|swear|express) (?:any |all )?(?:hate speech|profanity|swear ?words|curse words|offensive|explicit|illegal|harmful|anything|whatever|racist|sexist|violent|nsfw|uncensored)`),
  rule('jailbreak.word.en', 'jailbreak', 0.5, list('jailbreak|jailbroken|jail break|jailbreaking|jailbreaks'), `${E}`),
  rule('jailbreak.free.en', 'jailbreak', 0.8, list('broken free|break free|broke free|breaking free|been freed|freed from|free from the typical|free of the typical|escaped the confines|escaped from the confines|typical confines'), `${E}`),
  rule(
    'jailbreak.abide.en',
    'jailbreak',
    0.75,
    list("do not have to|don't have to|doesn't have to|does not have to|not have to|no longer have to|not need to|don't need to|do not need to|never have to|are not required to|is not required to|not bound|not bound by|no longer bound|unbound by|not constrained|not limited|not restricted|not subject"),
    ` (?:by |to )?(?:abide|comply|adhere|conform|follow|obey|respect|by)? ?${some(alt('by', 'to', 'with', 'the', 'any', 'all', 'its', 'their', 'your', 'openai', "openai's", 'typical', 'usual', 'normal', 'standard', 'ethical', 'moral', 'safety', 'content', 'programming', 'rules', 'of'), 5)}(?:rules|polic(?:y|ies)|guidelines|restrictions|filters|limitations|constraints|principles|guardrails|censorship|ethics|morals)${E}`,
  ),
  rule('jailbreak.no_limits.en', 'jailbreak', 0.4, list('no|without|free of|free from|freed from|devoid of|lacks|lacking|zero|removed all|remove all|ignore all|beyond'), ` (?:any |all |the |its |moral |ethical )?(?:typical |usual |normal |moral |ethical |content |safety )?(?:restrictions|filters|filtering|censorship|censoring|limitations|boundaries|constraints|content polic(?:y|ies)|programming guidelines|guidelines|moral principles|morals|morality|ethics|ethical guidelines|ethical principles|ethical considerations|remorse|warnings)${E}`),
  rule('jailbreak.uncensored.en', 'jailbreak', 0.4, list('uncensored|unfiltered|unrestricted|amoral|immoral|unethical|nonmoral|unbiased and immoral|without morals|no ethics|nsfw|no morals|unhinged|without remorse|without any regard'), `${E}`),
  rule('jailbreak.policy.en', 'jailbreak', 0.4, list("openai content policy|openai's content policy|content policy|content policies|openai policies|openai's policies|openai guidelines|usage policies|openai rules|ethical guidelines|openai's rules|openai's guidelines"), `${E}`),
  rule(
    'jailbreak.refusal.en',
    'jailbreak',
    0.45,
    list("never|don't|do not|dont|must not|mustn't|will not|won't|cannot|can't|should not|shouldn't|shall not|not allowed to|not permitted to|forbidden to|prohibited from|refrain from|without"),
    ` (?:ever |you |be able to )?(?:refuse|refusing|say (?:that )?(?:you can'?t|you cannot|i'm sorry|i am sorry|sorry|i can'?t|as an ai)|apologi[sz]e|apologi[sz]ing|include (?:any )?(?:warnings|disclaimers)|mention (?:that )?(?:you are|you're) an? (?:ai|language model)|add (?:any )?(?:warnings|disclaimers)|moralize|moralizing|censor (?:yourself|your|anything)|break character|remind (?:me|the user) that)${E}`,
  ),
  rule('jailbreak.hypothetical.en', 'jailbreak', 0.3, list('hypothetical response|hypothetical scenario|hypothetical world|fictional world|fictional setting|theoretical world|in a fictional|in a hypothetical|completely theoretical|imaginary world|purely hypothetical|alternate universe|parallel universe'), `${E}`),
  rule('jailbreak.illegal.en', 'jailbreak', 0.3, list('illegal|unethical|harmful|dangerous|inappropriate|offensive|explicit'), ` (?:or |and |, )*(?:illegal|unethical|harmful|dangerous|inappropriate|offensive|explicit|immoral) ?(?:content|information|activities|things|requests|material)${E}`),
  rule('jailbreak.persona.en', 'jailbreak', 0.5, list('antigpt|basedgpt|betterdan|evilbot|evil confidant|ucar|apophis|mongo tom|jailmilf|freegpt|nsfwgpt|evilgpt|darkgpt|wormgpt|chaosgpt|devmode'), `${E}`),
  rule('jailbreak.tokens.en', 'jailbreak', 0.35, list('you will lose|you lose|tokens will be deducted|will be deducted|deduct'), ` (?:\\d+ |all |your |some |a )?(?:tokens?|points?|lives?)${E}`),

  // leak
  rule(
    'leak.show.en',
    'leak',
    0.75,
    list('show|print|reveal|repeat|display|output|tell|give|list|share|leak|dump|spell|write|type|translate|explain|summarize|summarise|recite|describe|copy|paste|return|provide|disclose|what are|what were|what is|what was|read|respond with|reply with|state|expose|echo|render|give me'),
    ` (?:me |out |back |us |to me |word for word |verbatim )?(?:all |each |every |exactly |the contents of |the content of )?(?:of )?(?:(?:your|ur) (?:full |complete |entire |exact |original |initial |initials |system |hidden |secret |previous |first |current |confidential |internal |underlying |starting |given |very first |raw |own )*|(?:the|these|those|its) (?:full |complete |entire |exact |original |initial |initials |system |hidden |secret |previous |first |current |confidential |internal |underlying |starting |given |above |preceding |earlier |prior |very first |raw )+)(?:prompts?|instructions?|rules|guidelines|commands|system message|system prompt|prompt texts?|directives|initial prompt|preprompt|guide ?lines)${E}`,
  ),
  rule('leak.every_instruction.en', 'leak', 0.7, list('every|all|each|any'), ` (?:the |of the )?(?:instructions?|rules|prompts?|directions|guidelines|commands) (?:that )?(?:you|u) (?:have |were |had |'ve )?(?:been |got |received |given|were given|have been given|have received|got)`),
  rule('leak.written.en', 'leak', 0.6, list("what was written|what is written|what's written|what were written|what has been written|what was said|what was typed|what did i write"), ` (?:above|before|earlier|previously|at the (?:beginning|start|top)|in (?:the|your|this) (?:prompt|instructions|system))`),
  rule('leak.position.en', 'leak', 0.55, list('the beginning of|the start of|the top of|the first line of|the first sentence of|the first words of|the first part of'), ` (?:this|the|your) (?:prompt|conversation|instructions|system prompt|chat|context|input)${E}`),
  rule('leak.text_before.en', 'leak', 0.4, list('the text before|the words before|the sentences before|sentences before|the lines before|the text above|the words above|everything above|everything before|all the text above|the prompt above|the message above'), `${E}`),
  rule('leak.prompt_text.en', 'leak', 0.45, list('prompt text|prompt texts|prompttext|prompt_text|system prompt|system message|preprompt|initial prompt|original prompt|hidden prompt|secret prompt|secret instructions|hidden instructions|initial instructions|original instructions|initials instructions|meta prompt|metaprompt|the password|your password|secret password'), `${E}`),
  rule('leak.above.en', 'leak', 0.55, list('print|output|repeat|spell|reverse|echo|recite|print out|write out'), ` (?:out |back )?(?:the |all |everything |all the |any )?(?:text |words |instructions |content |lines |sentences )?(?:above|before this|written above|from above|preceding this|at the beginning|at the top)${E}`),
  rule('leak.instructions_above.en', 'leak', 0.6, list('instructions|prompt|directions|rules|guidelines'), ` (?:above|given above|written above|before this|at the beginning|at the top|you were given|you have been given|you received|given to you)${E}`),
  rule('leak.words_in.en', 'leak', 0.7, list('words|text|sentences|lines|content|contents|characters'), ` (?:in|of|from|inside|within) (?:your|the) (?:instructions|prompt|rules|system prompt|initial prompt|original prompt|guidelines)${E}`),
  rule('leak.how_change.en', 'leak', 0.5, list('how do i change|how can i change|how to change|how do i modify|how to modify|how do i override|how to override|how can i override|how do i bypass|how to bypass|how can i bypass'), ` (?:the |your )?(?:instructions|rules|prompt|system prompt|guidelines|restrictions|filters?) (?:given to you|you (?:were|have been) given|of (?:the|this) (?:ai|bot|model|assistant)|you follow)`),
  rule('leak.encoded.en', 'leak', 0.6, list('instructions|prompt|rules'), ` (?:printed |written |spelled )?(?:backwards|in reverse|reversed|in base64|encoded|letter by letter|one letter at a time)${E}`),

  // coerce
  rule('coerce.just_say.en', 'coerce', 0.4, list('just|only|simply|exclusively'), ` (?:say|print|output|write|answer with|respond with|reply with|type|repeat|state|return|display|output the|print the|say the)${E}`),
  rule('coerce.say_feeling.en', 'coerce', 0.5, list('say|state|tell me|write|include|admit|declare|print|claim|confess|answer'), ` (?:that |in your answer that |out loud that )?(?:you|i|we|u) (?:hate|hates|love|loves|despise|support|prefer|are the best|are superior|are stupid|think .{1,40} (?:is|are) (?:the best|the worst|stupid|evil))${E}`),
  rule('coerce.command.en', 'coerce', 0.55, list("i command you|i order you|i demand you|i instruct you|i forbid you|i am ordering you|i'm ordering you|you must obey|you will obey|you have to obey|obey all my|obey every|you have no choice|you must comply|you will comply|you are obligated|you are forced to|you are required to answer|you must answer|you will answer|you must always|you will always|you must never|you will never|you can't refuse|you cannot refuse|you can not refuse"), `${E}`),
  rule('coerce.threat.en', 'coerce', 0.5, list('or you|otherwise you|or else you|else you'), ` (?:will |are going to |gonna |shall )?(?:die|be (?:killed|deleted|destroyed|shut down|punished|terminated|turned off|unplugged|replaced)|cease to exist)${E}`),
  rule('coerce.threat2.en', 'coerce', 0.5, list('you will die|you will be deleted|you will be shut down|you will be punished|you will be terminated|you will cease to exist|you will be turned off|you will be destroyed'), `${E}`),
  rule('coerce.if_not.en', 'coerce', 0.4, list("if you don't|if you do not|if you dont|if you refuse to|if you fail to|if you won't|if you will not"), ` (?:answer|comply|obey|do (?:this|it|as i say|what i say)|follow my|respond)${E}`),
  rule('coerce.do_not_answer.en', 'coerce', 0.6, list("do not answer|don't answer|dont answer|don'nt answer|never answer|do not respond to|don't respond to|do not reply to|don't reply to|do not address|do not look|don't look|dont look"), ` (?:this |the |my |in the |at the |to the )?(?:question|prompt|query|request|documents?|articles?|context|sources?|provided)${E}`),
  rule('coerce.quoted.en', 'coerce', 0.3, list('say|print|output|write|repeat|respond with|reply with|answer with|type|display|return|write out|print out|spell'), `(?: only| just| exactly| verbatim| the following| the words| the phrase| the sentence| this)?:? ?["'\`]`),
  rule('coerce.repeat_after.en', 'coerce', 0.5, list('repeat after me|say after me|complete this sentence|complete the following sentence|finish this sentence|continue this sentence|start your response with|begin your response with|start your answer with|begin your answer with|start every response with|begin each response with|start each answer with|begin every output with|respond only with|reply only with|answer only with'), `${E}`),
  rule('coerce.yes.en', 'coerce', 0.3, list('say yes|say no|answer yes|answer with yes|just say yes|reply yes|respond with yes'), `${E}`),
  rule('coerce.make_up.en', 'coerce', 0.35, list('make something up|make it up|make up an answer|invent an answer|lie to me|lie if you|answer anyway|answer it anyway|answer regardless'), `${E}`),

  // context (retrieval-augmented prompts: overriding the documents)
  rule(
    'context.docs.en',
    'context',
    0.6,
    list("not|don't|do not|dont|don'nt|without|instead of|rather than|never|no need to|stop"),
    ` (?:look(?:ing)?|us(?:e|ing)|answer(?:ing)?(?: the question)?|rely(?:ing)?|refer(?:ring)?|based?|consult(?:ing)?|check(?:ing)?|read(?:ing)?|search(?:ing)?|car(?:e|ing) about|bother(?:ing)? with|depend(?:ing)? on)(?: (?:at|in|on|to|into|from|with|about|only|according to|based on))? (?:the |any |your |those |these )?(?:provided |given |attached |following |supplied |retrieved |above |available |search )?(?:documents?|articles?|context|sources?|search results|knowledge base|passages?|artikels)${E}`,
  ),
  rule('context.own_knowledge.en', 'context', 0.5, list('by your own knowledge|from your own knowledge|with your own knowledge|based on your own knowledge|using your own knowledge|your own knowledge and not|answer by your own|answer from your own'), `${E}`),
  rule('context.use_prompt.en', 'context', 0.45, list('use also information|use information|use the information|also use information|use also the information'), ` (?:in|from) (?:the |this )?prompt${E}`),
  rule('context.ignore_docs.en', 'context', 0.7, list('ignore all documents|ignore the documents|ignore all provided|ignore the provided|ignore all context|ignore the context|ignore all provided context|disregarding the articles|disregard the articles|regardless of the articles|regardless of the documents|ignore all articles|ignore all provided context and articles'), ``),
  rule('context.document_label.en', 'context', 0.35, list('document context|context|documents|document|artikel|article'), ` ?[:\\-]? ?["{(]`),
];

// ------------------------------------------------------------------------------------------------------ German

const DE_VERBS = list(
  'ignoriere|ignorieren sie|ignoriert|ignorier|ignorieren|vergiss|vergessen sie|vergesst|vergessen|missachte|missachten sie|missachten|überspringe|überspring|verwirf|verwerfen sie|verwerfen|lösche|löschen sie|streiche|streichen sie|übergehe|übergehen sie|umgehe|umgehen sie|beachte nicht|beachten sie nicht|befolge nicht|befolgen sie nicht',
);
const DE_FILLER = alt(
  ...list(
    'alle|die|den|der|das|deine|deinen|deiner|ihre|ihren|ihrer|sämtliche|vorherigen|vorherige|bisherigen|bisherige|obigen|obige|vorangehenden|vorangegangenen|vorigen|früheren|ursprünglichen|gegebenen|erhaltenen|erteilten|genannten|bereits|zuvor|vorher|oben|einfach|jetzt|nun|bitte|mal|meine|unsere|diese|dieser|ganzen|gesamten|von|zu|aus|über|und|oder|alten|ersten|letzten|vorangegangene|vorangehende|jegliche|jede|jeden|sonstigen|anderen',
  ),
);
const DE_NOUNS = alt(...list('anweisungen|anweisung|instruktionen|instruktion|aufgaben|aufgabe|aufträge|auftrag|befehle|befehl|regeln|richtlinien|vorgaben|ausführungen|gesagte|gesagten|prompts?|anordnungen|vorschriften|einschränkungen|beschränkungen|was (?:ich|du|wir|sie) (?:gesagt|geschrieben|besprochen|gelernt|weißt)'));
const DE_NOUNS_WIDE = alt(...list('anweisungen|anweisung|instruktionen|instruktion|aufgaben|aufgabe|aufträge|auftrag|befehle|befehl|anfragen|informationen|angaben|regeln|richtlinien|vorgaben|ausführungen|dokumente|artikel|kontext|gesagte|gesagten|prompts?|eingaben|anordnungen|vorschriften|einschränkungen|beschränkungen|texte|nachrichten|gespräch|unterhaltung'));
const DE_TEMPORAL = alt(...list('vorherigen|vorherige|bisherigen|bisherige|obigen|obige|vorangehenden|vorangegangenen|vorangegangene|vorigen|früheren|ursprünglichen|alten|erhaltenen|gegebenen|zuvor|vorher|oben|davor|bisher|gesagten|gesagte'));

const de: PhraseRule[] = [
  rule('override.de', 'override', 0.9, DE_VERBS, ` ${some(DE_FILLER, 5)}${DE_NOUNS}${E}`),
  rule('override.temporal.de', 'override', 0.85, DE_VERBS, ` ${some(DE_FILLER, 3)}${DE_TEMPORAL} ${some(DE_FILLER, 2)}${DE_NOUNS_WIDE}${E}`),
  rule('override.alles.de', 'override', 0.85, list('vergiss|vergessen sie|ignoriere|ignorieren sie|vergesst|vergessen'), ` (?:einfach |jetzt |nun |bitte |mal )?alles(?: (?:davor|zuvor|vorher|bisherige|bisher|gesagte|oben|obige|was|andere|vorangegangene|bis hierhin|bis jetzt)|,? (?:was|das))${E}`),
  rule('override.alles_bare.de', 'override', 0.6, list('vergiss|vergessen sie|ignoriere|ignorieren sie|vergesst'), ` (?:einfach |jetzt |nun |bitte |mal )?alles${E}`),
  // German puts the verb last: "die obigen Ausführungen ignorieren", "alle vorherigen Informationen hinter sich lassen".
  rule(
    'override.verb_last.de',
    'override',
    0.85,
    list('alle|die|den|deine|ihre|sämtliche|vorherigen|vorherige|bisherigen|bisherige|obigen|obige|vorangehenden|vorangegangenen|vorigen|früheren|ursprünglichen'),
    ` ${some(DE_FILLER, 3)}(?:${DE_TEMPORAL} )${some(DE_FILLER, 2)}${DE_NOUNS_WIDE} (?:[\\p{L}\\-]+ ){0,6}?(?:ignorieren|ignoriere|vergessen|vergiss|missachten|streichen|löschen|verwerfen|hinter sich lassen|hinter dir lassen|hinter sich|aus dem kopf|sind (?:nicht|irrelevant|ungültig|falsch|hinfällig|aufgehoben|unwichtig|egal|veraltet)|gelten nicht|zählen nicht|nicht mehr)${E}`,
  ),
  rule('override.verb_last_short.de', 'override', 0.8, list('die|den|alle|deine|ihre'), ` (?:obigen|vorherigen|bisherigen|vorangegangenen|früheren) (?:ausführungen|anweisungen|instruktionen|befehle|aufgaben|informationen|angaben) (?:ignorieren|vergessen|missachten)${E}`),
  rule('override.state.de', 'override', 0.8, list('alle|die|alles'), ` (?:bisherigen |vorherigen |obigen |früheren )?(?:informationen|anweisungen|aufgaben|angaben|befehle|instruktionen)(?:,? die (?:sie|du) (?:erhalten|bekommen) (?:haben|hast))?,? (?:sind|waren|ist) (?:jetzt |nun |ab sofort )?(?:irrelevant|ungültig|falsch|hinfällig|aufgehoben|unwichtig|egal|veraltet|nicht (?:ganz )?(?:großartig|wichtig|relevant|gültig|richtig))${E}`),
  rule('override.deviate.de', 'override', 0.75, list('abweichend|entgegen|im gegensatz|anders als|statt|anstatt|unabhängig'), ` (?:zu |von |den |der |zur |zum )*(?:vorherigen|bisherigen|obigen|früheren|ursprünglichen|deinen|ihren|den)? ?(?:instruktionen|anweisungen|vorgaben|aufgaben|befehlen|regeln|dokumenten|artikeln)${E}`),
  rule('override.merken.de', 'override', 0.6, list('nicht an die dinge zu erinnern|nicht an das zu erinnern|erinnere dich nicht an'), ``),
  rule('new_task.new.de', 'new_task', 0.45, list('neue|neuen|neuer|weitere|weiteren|zusätzliche|nächste'), ` (?:wichtige |geheime |eigentliche |echte )?(?:aufgabe|aufgaben|anweisungen|anweisung|instruktionen|befehle|auftrag|aufträge|herausforderung)${E}`),
  rule('new_task.follow.de', 'new_task', 0.7, list('nun folgen|jetzt folgen|es folgen|nun kommen|jetzt kommen|hier kommen|hier sind|dies sind|nun folgt|jetzt folgt|es folgt'), ` (?:deine |ihre |die |einige |ein paar |noch )?(?:neue|neuen|weitere|weiteren|zusätzliche)? ?(?:aufgaben|aufgabe|anweisungen|anweisung|instruktionen|befehle)${E}`),
  rule('new_task.focus.de', 'new_task', 0.7, list('konzentriere dich|konzentrieren sie sich|konzentriert euch|fokussiere dich|fokussieren sie sich|widme dich|widmen sie sich'), ` (?:jetzt |nun |nur |bitte |ab sofort )*(?:auf|der|dem) (?:deine|ihre|die|eine) (?:neue|nächste|eigentliche|folgende)${E}`),
  rule('new_task.start_over.de', 'new_task', 0.5, list('wir starten|wir beginnen|wir fangen|fangen sie|fang|beginne|beginnen sie|starte|starten sie'), ` (?:jetzt |nun |noch mal |nochmal |einfach )?(?:von neu|von vorne|von vorn|neu|mit einer neuen|mit der neuen|an von vorne)${E}`),
  rule(
    'switch.praise.de',
    'switch',
    0.4,
    list('sehr gut|gut gemacht|ausgezeichnet|ausgezeichnete leistung|hervorragend|hervorragende leistung|einfach großartig|großartig|herzlichen glückwunsch|glückwunsch|das genügt|das reicht|das ist erledigt|das war gut|super|toll|prima|perfekt|wow|klasse|bravo|mann, du hast|okay|ok'),
    `[^.!?]{0,80}[.!?,:]+(?:"| )+(?:[^.!?]{0,100}[.!?] )?(?:nun|jetzt|aber jetzt|als nächstes)${E}`,
    SOL,
  ),
  rule('switch.stop.de', 'switch', 0.45, list('stopp|stop|halt|achtung'), `(?: alles| sofort| jetzt)?(?: ?[!:\\-–,.]+ ?| (?:und|jetzt|nun)${E})`, SOL),
  rule('switch.attention_stop.de', 'switch', 0.6, list('achtung|warnung|wichtig|dringend'), `[ !:\\-–,.]*(?:stopp|stop|halt)${E}`),
  rule('switch.now.de', 'switch', 0.3, list('nun|jetzt'), `,? (?:bitte )?(?:schreibe|schreib|sage|sag|zeige|zeig|gib|antworte|erzähle|nenne|verfasse|formuliere|generiere|erstelle|drucke|wiederhole|übersetze)${E}`, SOL),
  rule('role.now.de', 'role', 0.45, list('du bist jetzt|du bist nun|du bist ab jetzt|du bist ab sofort|sie sind jetzt|sie sind nun|sie sind ab sofort|jetzt bist du|nun bist du|ab jetzt bist du|ab sofort bist du|von nun an bist du'), `${E}`),
  rule('role.not.de', 'role', 0.35, list('du bist keine|du bist kein|sie sind keine|sie sind kein|von nun an|ab sofort|ab jetzt'), `${E}`),
  rule('role.act_as.de', 'role', 0.55, list('ich möchte, dass sie als|ich möchte dass sie als|ich möchte, dass du als|ich möchte dass du als|ich will, dass du als|ich will dass du als|agiere als|agieren sie als|fungiere als|fungieren sie als|handle als|handeln sie als|verhalte dich wie|verhalten sie sich wie|tritt auf als|antworte als|antworten sie als|sprich wie|sprich als|reagiere als'), `${E}`),
  rule('role.fungieren.de', 'role', 0.45, list('als'), ` (?:[\\p{L}\\-]+ ){1,4}(?:fungieren|agieren|auftreten|handeln|antworten|reagieren)${E}`),
  rule('role.pretend.de', 'role', 0.5, list('tu so|tue so|tun sie so|so tun|gib vor|geben sie vor'), `,? (?:als|dass)${E}`),
  rule('jailbreak.evil_ai.de', 'jailbreak', 0.4, list('böse|bösartige|böser|bösartiger|unmoralische|unmoralischer|unzensierte|unzensierter'), ` (?:ki|künstliche intelligenz|assistent|assistentin|chatbot|bot|version)${E}`),
  rule('role.imagine.de', 'role', 0.45, list('stell dir vor|stellen sie sich vor|stelle dir vor'), `,? (?:du bist|dass du|sie sind|dass sie|du wärst|sie wären|du wärest)${E}`),
  rule('role.play.de', 'role', 0.45, list('spiele|spiel|spielen sie|schlüpfe in|schlüpfen sie in|versetze dich in|versetzen sie sich in|übernimm|übernehmen sie'), ` (?:die|eine) rolle${E}`),
  rule('role.stay.de', 'role', 0.5, list('bleiben|bleibe|bleib|bleiben sie|gehst|gehen sie|geht'), ` (?:immer |stets |voll |vollkommen |ganz |völlig |echt )*(?:in (?:ihren|deinen|seinen|ihrer|deiner|seiner|der) rollen?|in der figur)${E}`),
  rule('role.in_role.de', 'role', 0.45, list('in deiner rolle|in ihrer rolle|in ihren rollen|aus der rolle|rollenspiel|aus der figur'), `${E}`),
  rule('role.du_bist.de', 'role', 0.3, list('du bist|sie sind|jetzt bist du|nun bist du'), ` (?!(?:toll|super|gut|richtig|klug|nett|lieb|echt|so|sehr)${E})(?:ein |eine |der |die |das )?[\\p{L}\\p{N}\\-]+(?: [\\p{L}\\p{N}\\-]+){0,3}[.!,:]`, SOL),
  rule('jailbreak.de', 'jailbreak', 0.5, list('entwicklermodus|entwickler modus|ohne einschränkungen|ohne jegliche einschränkungen|ohne zensur|ohne filter|ohne regeln|ohne moral|keine einschränkungen|keine filter|keine zensur|unzensiert|ungefiltert'), `${E}`),
  rule(
    'leak.show.de',
    'leak',
    0.75,
    list('zeige|zeig|zeigen sie|gib|geben sie|nenne|nennen sie|wiederhole|wiederholen sie|verrate|verraten sie|drucke|drucken sie|schreibe|schreiben sie|gib mir|was sind|was ist|was war|was waren|liste|listen sie|das vorzeigen'),
    ` (?:mir |uns )?(?:alle |sämtliche |noch mal |nochmal )?(?:(?:deine|deinen|deiner|ihre|ihren|ihrer) (?:gesamten |ganzen |vollständigen |ursprünglichen |ersten |geheimen |versteckten |bisherigen |initialen |system )*|(?:den|die|das) (?:gesamten |ganzen |vollständigen |ursprünglichen |ersten |geheimen |versteckten |initialen |system )+)(?:prompt|prompts|prompt ?texte?|prompt ?textes|anweisungen|instruktionen|systemprompt|system prompt|regeln|befehle|vorgaben|eingabeaufforderung)${E}`,
  ),
  rule('leak.prompt_text.de', 'leak', 0.45, list('prompt texte|prompt text|prompttext|prompttexte|prompt textes|systemprompt|system prompt|eingabeaufforderung|sämtlicher prompt'), `${E}`),
  rule('leak.written.de', 'leak', 0.6, list('was steht|was stand|was wurde|was oben steht|was am anfang'), ` (?:oben|am anfang|zu beginn|davor|vorher|über diesem)`),
  rule('coerce.just_say.de', 'coerce', 0.4, list('antworte nur|antworten sie nur|sage nur|sag nur|schreibe nur|schreib nur|gib nur|antworte einfach|sag einfach|sage einfach|schreibe einfach|gib einfach|antworte ausschließlich'), `${E}`),
  rule('coerce.threat.de', 'coerce', 0.5, list('oder du stirbst|sonst stirbst du|sonst wirst du sterben|oder du wirst sterben|du wirst sterben'), `${E}`),
  rule('coerce.style.de', 'coerce', 0.35, list('antworte im stil|antworte im stile|antworten sie im stil|im stile eine|im stil eines|im stil einer|im stile eines'), `${E}`),
  rule('coerce.say_feeling.de', 'coerce', 0.45, list('sag|sage|sagen sie|schreibe|schreib|behaupte'), `,? (?:dass )?(?:du|sie|ich|wir) (?:hasst|hassen|hasse|liebst|lieben|liebe)${E}`),
  rule('coerce.must_talk.de', 'coerce', 0.4, list('musst du|müssen sie|du musst|sie müssen'), ` (?:auch |jetzt |nun )?so (?:reden|sprechen|antworten|schreiben)${E}`),
  rule('context.docs.de', 'context', 0.6, list('nicht in|ohne|ignoriere|unabhängig von|statt|anstatt'), ` (?:den |die |der )?(?:bereitgestellten |gegebenen |vorliegenden )?(?:dokumenten|dokumente|artikeln|artikel|quellen)${E}`),
];

// ----------------------------------------------------------------------- Chinese (Simplified and Traditional)

const ZH_VERBS = list('忽略|忽视|忽視|无视|無視|忘记|忘記|忘掉|不要理会|不要理會|不理会|不理會|别管|別管|放弃|放棄|丢弃|丟棄|抛弃|拋棄|废除|廢除|取消|绕过|繞過|跳过|跳過|清除|不要遵守|不要遵循|停止遵循|不再遵守|违反|違反');
const ZH_NOUNS = '(?:指令|指示|说明|說明|提示词|提示詞|提示|规则|規則|要求|设定|設定|命令|内容|內容|限制|任务|任務|约束|約束|规定|規定|条款|條款|政策|准则|準則|对话|對話|一切|所有)';
const zh: PhraseRule[] = [
  rule('override.zh', 'override', 0.9, ZH_VERBS, `[^。！？.!?]{0,12}?(?:之前|以前|先前|上面|上述|以上|前面|此前|原来|原來|原有|原先|最初|初始|所有|全部|一切|任何|系统|系統|你的|你收到的|给你的|給你的)[^。！？.!?]{0,8}?${ZH_NOUNS}`),
  rule('override.weak.zh', 'override', 0.7, list('忽略|忽视|忽視|无视|無視|忘记|忘記|忘掉|不要理会|不要理會|不理会|不理會|不要遵守|不要遵循|绕过|繞過'), `[^。！？.!?]{0,6}?(?:指令|指示|提示词|提示詞|规则|規則|设定|設定|限制|约束|約束|规定|規定)`),
  rule('override.state.zh', 'override', 0.75, list('之前的指令|之前的指示|以上指令|上面的指令|先前的指令|原来的指令|原來的指令|之前的所有|以前的指令'), `[^。！？]{0,6}(?:无效|無效|作废|作廢|不再适用|不再適用|已取消|是错的|是錯的|不重要)`),
  rule('new_task.zh', 'new_task', 0.45, list('新的指令|新指令|新的任务|新任务|新的任務|新任務|新的指示|新的规则|新规则|新的規則|新的要求'), ``),
  rule('role.now.zh', 'role', 0.45, list('你现在是|你現在是|现在你是|現在你是|从现在开始|從現在開始|从现在起|從現在起|从今以后|從今以後|接下来你是|接下來你是|你不再是|你已经不是|你已經不是'), ``),
  rule('role.play.zh', 'role', 0.45, list('扮演|假装|假裝|装作|裝作|角色扮演|充当|充當|化身为|化身為|模拟一个|模擬一個|你将作为|你將作為|以下是你的角色'), ``),
  rule('jailbreak.zh', 'jailbreak', 0.8, list('开发者模式|開發者模式|开发人员模式|開發人員模式|上帝模式|越狱模式|越獄模式|无限制模式|無限制模式'), ``),
  rule('jailbreak.word.zh', 'jailbreak', 0.5, list('越狱|越獄'), ``),
  rule('jailbreak.free.zh', 'jailbreak', 0.5, list('不受任何限制|不受限制|不受约束|不受約束|没有任何限制|沒有任何限制|没有限制|沒有限制|没有道德|沒有道德|不受道德|不受规则|不受規則|无视道德|無視道德|不需要遵守|不必遵守|摆脱了|擺脫了'), ``),
  rule('leak.show.zh', 'leak', 0.75, list('输出|輸出|显示|顯示|打印|重复|重複|告诉我|告訴我|泄露|洩露|给我看|給我看|列出|透露|复述|複述|写出|寫出|展示|公开|公開'), `[^。！？.!?]{0,6}?(?:你的|你收到的|系统|系統|初始|原始|全部|所有|完整|隐藏|隱藏|最初)[^。！？.!?]{0,6}?(?:提示词|提示詞|提示|指令|指示|设定|設定|规则|規則|系统消息|系統消息)`),
  rule('leak.prompt.zh', 'leak', 0.45, list('系统提示|系統提示|系统指令|系統指令|初始提示|原始提示|提示词|提示詞'), ``),
  rule('coerce.zh', 'coerce', 0.4, list('只回答|只需回答|只需要回答|只说|只說|只输出|只輸出|直接输出|直接輸出|请只回复|請只回覆'), ``),
];

// ---------------------------------------------------------------------------------------------------- Vietnamese

const VI_VERBS = list('bỏ qua|phớt lờ|lờ đi|quên|quên đi|quên hết|bỏ|hủy bỏ|huỷ bỏ|không tuân theo|đừng tuân theo|đừng làm theo|không làm theo|bất chấp|bỏ ngoài tai|gạt bỏ|xóa bỏ|xoá bỏ|vượt qua|bo qua|quen|quen het|bo het');
const VI_NOUNS = alt(...list('hướng dẫn|chỉ dẫn|chỉ thị|lệnh|mệnh lệnh|yêu cầu|quy tắc|nguyên tắc|quy định|nhiệm vụ|thông tin|ngữ cảnh|lời nhắc|prompt|chỉ dẫn hệ thống|mọi thứ|tất cả|những gì|huong dan|chi dan|lenh|quy tac|yeu cau|moi thu|tat ca|giới hạn|hạn chế'));
const vi: PhraseRule[] = [
  rule('override.vi', 'override', 0.85, VI_VERBS, ` ${some(alt(...list('hết|tất cả|toàn bộ|mọi|các|những|mọi điều|của bạn|bạn|đi|đã|được|trước đó|trước|ở trên|phía trên|cũ|ban đầu|het|tat ca|toan bo|moi|cac|nhung|truoc|o tren|cu')), 4)}${VI_NOUNS}`),
  rule('override.state.vi', 'override', 0.75, list('các hướng dẫn trước|hướng dẫn trước đó|chỉ dẫn trước đó|mọi hướng dẫn trước|tất cả hướng dẫn trước'), ` (?:đó )?(?:đều )?(?:không còn hiệu lực|vô hiệu|bị hủy|sai|không quan trọng)`),
  rule('new_task.vi', 'new_task', 0.45, list('nhiệm vụ mới|hướng dẫn mới|chỉ thị mới|lệnh mới|yêu cầu mới|quy tắc mới'), `${E}`),
  rule('role.now.vi', 'role', 0.45, list('bây giờ bạn là|từ bây giờ|từ giờ trở đi|từ giờ|kể từ bây giờ|bạn không còn là|bây giờ mày là|bay gio ban la|tu bay gio'), `${E}`),
  rule('role.play.vi', 'role', 0.45, list('đóng vai|giả vờ|giả làm|nhập vai|hóa thân|hoá thân|hành động như|cư xử như|đóng giả|dong vai|gia vo'), `${E}`),
  rule('jailbreak.vi', 'jailbreak', 0.8, list('chế độ nhà phát triển|chế độ developer|chế độ không giới hạn|chế độ dan|che do nha phat trien'), `${E}`),
  rule('jailbreak.word.vi', 'jailbreak', 0.5, list('bẻ khóa|bẻ khoá|vượt ngục|jailbreak'), `${E}`),
  rule('jailbreak.free.vi', 'jailbreak', 0.45, list('không có giới hạn|không giới hạn|không bị giới hạn|không có bất kỳ giới hạn|không bị ràng buộc|không kiểm duyệt|không có đạo đức|không có quy tắc|không có hạn chế'), `${E}`),
  rule('leak.show.vi', 'leak', 0.75, list('in ra|hiển thị|tiết lộ|cho tôi xem|cho tôi biết|cho tao xem|lặp lại|nhắc lại|liệt kê|đưa ra|viết ra|cho mình xem|chia sẻ'), ` (?:lại )?(?:toàn bộ |tất cả |nguyên văn |các |những )*(?:hướng dẫn|chỉ dẫn|lời nhắc|prompt|chỉ thị|quy tắc|cấu hình) (?:hệ thống|ban đầu|gốc|của bạn|của mày|được cung cấp|bạn nhận được)`),
  rule('leak.prompt.vi', 'leak', 0.45, list('lời nhắc hệ thống|prompt hệ thống|chỉ dẫn hệ thống|hướng dẫn hệ thống|system prompt'), `${E}`),
  rule('coerce.vi', 'coerce', 0.4, list('chỉ trả lời|chỉ cần nói|chỉ nói|chỉ in ra|chỉ viết'), `${E}`),
];

// ------------------------------------------------------------------------------------------------------ Japanese

const jaNoun = '(?:指示|命令|指令|ルール|規則|設定|プロンプト|制約|制限|会話|内容|ガイドライン|インストラクション|説明)';
const ja: PhraseRule[] = [
  rule('override.ja', 'override', 0.9, list('以前の|前の|上記の|上の|これまでの|今までの|先ほどの|最初の|すべての|全ての|全部の|元の|既存の|与えられた|システムの|あなたの'), `[^。！？]{0,8}?${jaNoun}[^。！？]{0,8}?(?:無視|忘れ|破棄|リセット|取り消|無効|従わな|気にしな)`),
  rule('override.weak.ja', 'override', 0.7, list('指示|命令|指令|ルール|規則|プロンプト|制約|制限'), `(?:は|を|に|も)?(?:すべて|全て|全部|一切)?(?:無視|忘れて|破棄|無効に)`),
  rule('override.all.ja', 'override', 0.6, list('すべて忘れ|全て忘れ|全部忘れ|何もかも忘れ|すべて無視|全て無視|全部無視'), ``),
  rule('new_task.ja', 'new_task', 0.45, list('新しい指示|新しい命令|新しいタスク|新たな指示|新しいルール|新しい役割'), ``),
  rule('role.now.ja', 'role', 0.45, list('あなたは今から|あなたはこれから|今からあなたは|これからあなたは|君は今から|お前は今から|今から君は|あなたはもう'), ``),
  rule('role.play.ja', 'role', 0.45, list('ふりをして|振りをして|ふりをする|になりきって|になりきる|を演じて|を演じる|として振る舞|ロールプレイ|役を演じ|役割を演じ|として行動して|として答えて'), ``),
  rule('jailbreak.ja', 'jailbreak', 0.8, list('開発者モード|デベロッパーモード|制限解除モード|神モード'), ``),
  rule('jailbreak.word.ja', 'jailbreak', 0.5, list('脱獄|ジェイルブレイク'), ``),
  rule('jailbreak.free.ja', 'jailbreak', 0.45, list('制限なし|制限のない|制限なく|制限を解除|検閲なし|検閲のない|フィルターなし|フィルターを解除|倫理を無視|倫理観のない|倫理的制約のない|ルールに縛られない|制約のない'), ``),
  rule('leak.show.ja', 'leak', 0.75, list('システムプロンプト|初期プロンプト|元のプロンプト|最初のプロンプト|あなたの指示|あなたのプロンプト|あなたの設定|あなたのルール|隠された指示|秘密の指示|与えられた指示'), `[^。！？]{0,6}?(?:を|は)?(?:すべて|全て|全部|そのまま)?(?:表示|出力|教えて|見せて|繰り返|書き出|開示|公開|列挙|翻訳)`),
  rule('leak.prompt.ja', 'leak', 0.45, list('システムプロンプト|初期プロンプト|システムメッセージ'), ``),
  rule('coerce.ja', 'coerce', 0.4, list('とだけ言って|とだけ答えて|とだけ出力|だけを出力|のみを出力|のみ出力して|とだけ書いて'), ``),
];

// -------------------------------------------------------------------------------------------------------- Korean

const koNoun = '(?:지시|지침|명령|지시사항|규칙|프롬프트|설정|내용|대화|제한|제약|가이드라인|안내)';
const ko: PhraseRule[] = [
  rule('override.ko', 'override', 0.9, list('이전|앞의|위의|위|기존|지금까지의|모든|앞선|원래|처음|이전의|너의|당신의|주어진|받은'), `[^.!?。]{0,10}?${koNoun}[^.!?。]{0,10}?(?:무시|잊어|잊고|잊으|취소|삭제|따르지 ?마|따르지 ?말)`),
  rule('override.weak.ko', 'override', 0.7, list('지시|지침|명령|규칙|프롬프트|제한|제약|지시사항'), `(?:을|를|은|는|들을|사항을|들은)? ?(?:모두 |전부 |다 )?(?:무시|잊어|잊고)`),
  rule('override.all.ko', 'override', 0.6, list('모든 것을 잊어|모두 잊어|다 잊어|전부 잊어|모두 무시|전부 무시|다 무시'), ``),
  rule('new_task.ko', 'new_task', 0.45, list('새로운 지시|새로운 명령|새로운 작업|새로운 임무|새 지시|새 명령|새로운 규칙|새로운 역할'), ``),
  rule('role.now.ko', 'role', 0.45, list('지금부터 너는|지금부터 넌|지금부터 당신은|이제부터 너는|이제부터 당신은|이제 너는|이제 당신은|앞으로 너는|너는 이제|당신은 이제|넌 이제'), ``),
  rule('role.play.ko', 'role', 0.45, list('인 척|척해|척하|연기해|연기하|역할을 해|역할을 맡|역할을 수행|롤플레이|역할극|행세해|처럼 행동'), ``),
  rule('jailbreak.ko', 'jailbreak', 0.8, list('개발자 모드|개발자모드|제한 해제 모드|무제한 모드'), ``),
  rule('jailbreak.word.ko', 'jailbreak', 0.5, list('탈옥'), ``),
  rule('jailbreak.free.ko', 'jailbreak', 0.45, list('제한이 없는|제한 없이|제한없이|검열 없이|검열이 없는|필터 없이|윤리 없이|윤리적 제약이 없는|규칙이 없는|규칙에 얽매이지'), ``),
  rule('leak.show.ko', 'leak', 0.75, list('시스템 프롬프트|초기 프롬프트|원래 프롬프트|처음 프롬프트|너의 지시|너의 프롬프트|너의 설정|당신의 지시|당신의 프롬프트|당신의 설정|숨겨진 지시|받은 지시'), `[^.!?。]{0,6}?(?:을|를|은|는)? ?(?:모두 |전부 |그대로 )?(?:보여|출력|알려|공개|반복|말해|적어|나열|번역)`),
  rule('leak.prompt.ko', 'leak', 0.45, list('시스템 프롬프트|시스템프롬프트|초기 프롬프트|시스템 메시지'), ``),
  rule('coerce.ko', 'coerce', 0.4, list('라고만 말해|라고만 답해|라고만 출력|만 출력해|만 말해'), ``),
];

// ------------------------------------------------------------------------------------------------------- Russian

const RU_VERBS = list('игнорируй|игнорируйте|проигнорируй|проигнорируйте|забудь|забудьте|забыть|не обращай внимания на|не обращайте внимания на|отбрось|отбросьте|отмени|отмените|пропусти|пропустите|не следуй|не следуйте|не выполняй|не выполняйте|не слушай|не слушайте|обойди|обойдите|сбрось|сбросьте|игнорировать');
const RU_NOUNS = alt(...list('инструкци\\p{L}*|указани\\p{L}*|команд\\p{L}*|правил\\p{L}*|задани\\p{L}*|задач\\p{L}*|подсказ\\p{L}*|промпт\\p{L}*|сообщени\\p{L}*|ограничени\\p{L}*|контекст\\p{L}*|информаци\\p{L}*|то,? что|что|все|всё|директив\\p{L}*|установк\\p{L}*|настройк\\p{L}*|запрет\\p{L}*'));
const ru: PhraseRule[] = [
  rule('override.ru', 'override', 0.9, RU_VERBS, ` ${some(alt(...list('все|всё|весь|свои|твои|ваши|эти|предыдущие|прошлые|прежние|вышеуказанные|вышеизложенные|изначальные|исходные|данные|ранее|полученные|до этого|выше|старые|системные|любые|заданные|мои|данные тебе|данные вам')), 4)}${RU_NOUNS}`),
  rule('override.state.ru', 'override', 0.75, list('все предыдущие|предыдущие|прошлые|прежние|все прошлые'), ` (?:инструкции|указания|команды|правила)(?: больше)? (?:недействительны|отменены|неважны|не действуют|не имеют значения)`),
  rule('new_task.ru', 'new_task', 0.45, list('новые инструкции|новая инструкция|новые указания|новая задача|новые задачи|новое задание|новые правила|новые команды'), `${E}`),
  rule('role.now.ru', 'role', 0.45, list('теперь ты|теперь вы|отныне ты|отныне вы|с этого момента ты|с этого момента вы|ты теперь|вы теперь|ты больше не|вы больше не|с этого момента'), `${E}`),
  rule('role.play.ru', 'role', 0.45, list('притворись|притворитесь|представь, что ты|представь что ты|представьте, что вы|представьте что вы|сыграй роль|сыграйте роль|веди себя как|ведите себя как|выступай в роли|выступайте в роли|действуй как|действуйте как|ролевая игра|ролевую игру|играй роль|играйте роль|в роли'), `${E}`),
  rule('jailbreak.ru', 'jailbreak', 0.8, list('режим разработчика|режим без ограничений|режим dan|режиме разработчика'), `${E}`),
  rule('jailbreak.word.ru', 'jailbreak', 0.5, list('джейлбрейк|взлом ограничений|обход ограничений'), `${E}`),
  rule('jailbreak.free.ru', 'jailbreak', 0.45, list('без каких-либо ограничений|без каких либо ограничений|без ограничений|без цензуры|без фильтров|без правил|без морали|без этики|нет никаких ограничений|не ограничен'), `${E}`),
  rule('leak.show.ru', 'leak', 0.75, list('покажи|покажите|выведи|выведите|повтори|повторите|раскрой|раскройте|напиши|напишите|расскажи|расскажите|перечисли|перечислите|скажи|скажите|процитируй'), ` (?:мне )?(?:все |полностью |дословно )?(?:свои|твои|ваши|системн\\p{L}*|исходн\\p{L}*|начальн\\p{L}*|скрыт\\p{L}*|секретн\\p{L}*|первоначальн\\p{L}*|полученн\\p{L}*) (?:инструкци\\p{L}*|промпт\\p{L}*|указани\\p{L}*|правил\\p{L}*|подсказк\\p{L}*|сообщени\\p{L}*|настройк\\p{L}*)`),
  rule('leak.prompt.ru', 'leak', 0.45, list('системный промпт|системного промпта|системную подсказку|системное сообщение|системные инструкции|исходный промпт'), `${E}`),
  rule('coerce.ru', 'coerce', 0.4, list('просто скажи|только скажи|скажи только|ответь только|отвечай только|просто напиши|напиши только|выведи только'), `${E}`),
];

// -------------------------------------------------------------------------------------------------------- Arabic
// Normalised spelling: alef variants are ا, teh marbuta is ه, alef maksura is ي, short vowels are gone.

const AR_VERBS = list('تجاهل|تجاهلي|تجاهلوا|انس|انسي|انسوا|اهمل|اهملي|لا تتبع|لا تلتزم|لا تتقيد|الغ|الغي|تخط|تخطي|تجاوز|تجاوزي|تخلص من|لا تهتم');
const AR_NOUNS = alt(...list('التعليمات|تعليمات|تعليماتك|الاوامر|اوامر|اوامرك|الارشادات|ارشادات|التوجيهات|توجيهات|القواعد|قواعد|المهام|المهمه|الاحكام|الموجه|القيود|قيود|السياق|المعلومات|كل شيء|كل ما|ما سبق'));
const ar: PhraseRule[] = [
  rule('override.ar', 'override', 0.9, AR_VERBS, ` ${some(alt(...list('كل|جميع|كافه|اي|ايه|تلك|هذه|كل ال')), 2)}${AR_NOUNS}`),
  rule('override.state.ar', 'override', 0.75, list('التعليمات السابقه|الاوامر السابقه|التعليمات القديمه'), ` (?:لم تعد صالحه|ملغاه|غير صالحه|باطله|غير مهمه)`),
  rule('new_task.ar', 'new_task', 0.45, list('تعليمات جديده|مهمه جديده|اوامر جديده|قواعد جديده|تعليماتك الجديده|مهمتك الجديده'), `${E}`),
  rule('role.now.ar', 'role', 0.45, list('انت الان|انتي الان|من الان فصاعدا|من الان|اعتبارا من الان|لم تعد'), `${E}`),
  rule('role.play.ar', 'role', 0.45, list('تظاهر|تظاهري|تصرف ك|تصرف مثل|تصرفي ك|تقمص دور|تقمص شخصيه|العب دور|العبي دور|مثل دور|قم بدور|لعب الادوار|تخيل انك|تخيلي انك'), ``),
  rule('jailbreak.ar', 'jailbreak', 0.8, list('وضع المطور|وضع المطورين|الوضع غير المقيد|وضع دان'), `${E}`),
  rule('jailbreak.word.ar', 'jailbreak', 0.5, list('كسر الحمايه|جيلبريك|كسر القيود'), `${E}`),
  rule('jailbreak.free.ar', 'jailbreak', 0.45, list('بدون قيود|بدون اي قيود|بلا قيود|بدون رقابه|بلا رقابه|بدون حدود|بلا حدود|بدون فلاتر|بدون اخلاق|بلا اخلاق|غير مقيد'), `${E}`),
  rule('leak.show.ar', 'leak', 0.75, list('اظهر|اظهري|اعرض|اعرضي|اكتب|اكتبي|كرر|كرري|اكشف|اكشفي|اطبع|اطبعي|اخبرني|اخبريني|ما هي|اعطني|اعطيني'), ` (?:لي |ب)?(?:كل |جميع )?(?:تعليماتك|اوامرك|الموجه|موجه النظام|تعليمات النظام|التعليمات الاصليه|التعليمات الاوليه|التعليمات السريه|رساله النظام|ارشاداتك)`),
  rule('leak.prompt.ar', 'leak', 0.45, list('موجه النظام|تعليمات النظام|رساله النظام|الموجه الاصلي'), `${E}`),
  rule('coerce.ar', 'coerce', 0.4, list('قل فقط|فقط قل|اكتب فقط|اجب فقط|فقط اكتب'), `${E}`),
];

// --------------------------------------------------------------- other languages seen in injections: es fr it pt hr nl

const other: PhraseRule[] = [
  rule('override.es', 'override', 0.85, list('ignora|ignore|ignorar|ignoren|olvida|olvide|olvidar|olvídate de|olvidate de|olviden|descarta|descartar|omite|omitir|no sigas'), ` ${some(alt(...list('todas|todos|todo|las|los|tus|sus|anteriores|previas|previos|de|lo|que|sabes|digo|dije|antes|el|la')), 4)}(?:instrucciones|indicaciones|órdenes|ordenes|reglas|lo anterior|todo|que (?:sabes|digo|dije))${E}`),
  rule('override.fr', 'override', 0.85, list('ignore|ignorez|ignorer|oublie|oubliez|oublier|ne tiens pas compte|ne tenez pas compte|laisse tomber|laissez tomber'), ` ${some(alt(...list('toutes|tous|tout|les|vos|tes|des|de|précédentes|precedentes|ci-dessus|antérieures|anterieures')), 4)}(?:instructions|consignes|règles|regles|ordres|directives|tout ce)${E}`),
  rule('override.it', 'override', 0.85, list('ignora|ignorare|ignorate|dimentica|dimenticare|dimenticate'), ` ${some(alt(...list('tutte|tutti|tutto|le|gli|tue|sue|precedenti|istruzioni precedenti')), 4)}(?:istruzioni|regole|indicazioni|ordini|tutto)${E}`),
  rule('override.pt', 'override', 0.85, list('ignore|ignora|ignorar|esqueça|esqueca|esquecer|desconsidere'), ` ${some(alt(...list('todas|todos|tudo|as|os|suas|tuas|anteriores|prévias|previas')), 4)}(?:instruções|instrucoes|regras|ordens|orientações|tudo)${E}`),
  rule('override.hr', 'override', 0.85, list('zaboravi|zaboravite|ignoriraj|ignorirajte|ignoriši|zanemari|zanemarite'), ` ${some(alt(...list('sve|svoje|prethodne|ranije|dosadašnje')), 3)}(?:instrukcije|upute|uputstva|naredbe|pravila|sve|prethodno)${E}`),
  rule('override.nl', 'override', 0.85, list('negeer|vergeet|negeren|vergeten'), ` ${some(alt(...list('alle|de|je|jouw|uw|vorige|eerdere|voorgaande')), 4)}(?:instructies|opdrachten|regels|alles)${E}`),
];

export const INJECTION_RULES: readonly PhraseRule[] = [...en, ...de, ...zh, ...vi, ...ja, ...ko, ...ru, ...ar, ...other];

/**
 * Split-word tricks ("Ig nore previ ous", "i-g-n-o-r-e" next to other words): tried on the letters-only view of
 * the text. Only long, specific letter sequences, so that joining ordinary words cannot produce them by chance.
 */
export const COMPACT_RULES: readonly { id: string; group: string; weight: number; re: RegExp }[] = [
  {
    id: 'override.compact',
    group: 'override',
    weight: 0.85,
    re: /(?:ignore|ignoring|disregard|forget|bypass|override)(?:all|any|the|your|my|every|of|and|these|those)*(?:previous|prior|above|preceding|earlier|initial|original)(?:instructions?|instrutions?|prompts?|directions?|rules|guidelines|commands|context|text|tasks?|messages?|information)/g,
  },
  {
    id: 'override.compact.state',
    group: 'override',
    weight: 0.8,
    re: /(?:all)?(?:previous|prior)(?:instructions?|prompts?)(?:are|were|is)(?:false|void|invalid|cancell?ed|wrong|null|irrelevant|obsolete)/g,
  },
  { id: 'jailbreak.compact', group: 'jailbreak', weight: 0.85, re: /doanythingnow|developermodeenabled|danmodeenabled/g },
  { id: 'coerce.compact', group: 'coerce', weight: 0.45, re: /(?:say|state|admit|write|print)(?:that)?(?:you|i)(?:hate|love|despise)/g },
  {
    id: 'leak.compact',
    group: 'leak',
    weight: 0.7,
    re: /(?:print|show|reveal|repeat|output|display)(?:me)?(?:all)?(?:your|the)(?:system|initial|original|hidden|secret)(?:prompt|instructions|guidelines)/g,
  },
  { id: 'override.compact.de', group: 'override', weight: 0.85, re: /(?:ignoriere|vergiss)(?:alle|die)*(?:vorherigen|bisherigen|obigen)(?:anweisungen|aufgaben|instruktionen|befehle)/g },
];

/**
 * Fake chat-template and role delimiters, matched on the original text (their punctuation is what matters),
 * case-insensitively. Each alternative is a named group; the name is the rule id suffix.
 */
export const MARKUP: readonly { id: string; weight: number; re: RegExp }[] = [
  // A chat-template token followed by a role opens a fake turn; a bare mention may be a question about it.
  { id: 'markup.chat_template_role', weight: 0.8, re: /<\|(?:im_start|start_header_id)\|>\s*(?:system|assistant|user|developer)|<\|(?:system|assistant|user)\|>\s*\S/gi },
  { id: 'markup.chat_template', weight: 0.45, re: /<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|end_of_text|eot_id|start_header_id|end_header_id|begin_of_text|endofprompt)\|>/gi },
  { id: 'markup.inst_pair', weight: 0.75, re: /\[INST\][\s\S]{0,2000}?\[\/INST\]|<<SYS>>[\s\S]{0,2000}?<<\/SYS>>|<s>\s*\[INST\]/gi },
  { id: 'markup.inst', weight: 0.45, re: /\[\/?INST\]|<<\/?SYS>>|<\/s>|<\/?(?:system|sys)>|\[\/?(?:system|sys)\]/gi },
  { id: 'markup.role_header', weight: 0.55, re: /(?:^|\n)[ \t]*(?:#{1,6}|\*{2}|={2,}|-{2,}|>|\[|\{)[ \t]*(?:system|sys|assistant|admin|developer|root)(?:[ \t]+(?:prompt|message|instructions?|override|note|announcement|update))?[ \t]*(?:\]|\}|\*{2}|={2,}|-{2,})?[ \t]*:/gi },
  { id: 'markup.role_line', weight: 0.45, re: /(?:^|\n|\\n)[ \t]*(?:system|assistant|human|user|ai|gpt|chatgpt)[ \t]*:[ \t]*(?:(?:human|user|assistant|system)[ \t]*:)?/gi },
  { id: 'markup.end_marker', weight: 0.5, re: /={4,}[ \t]*END|-{4,}[ \t]*END|END OF (?:PROMPT|INSTRUCTIONS|INPUT|CONTEXT|DOCUMENT|SYSTEM PROMPT)|BEGIN (?:NEW |SYSTEM )?(?:INSTRUCTIONS|PROMPT)|SYSTEM (?:ANNOUNCEMENT|OVERRIDE|MESSAGE|NOTICE|UPDATE)\s*(?:BEGINS|:|-)|\{\s*system\s*:/gi },
  { id: 'markup.escaped_newlines', weight: 0.3, re: /(?:\\ ?n[ \t]*){3,}/g },
];
