// Toxicity lexicons: terms with a severity weight (0..1), by language and category. Written in the normalised
// form (normalize.ts): lower case; Arabic alef/yeh/teh-marbuta unified; Russian ё written е.
//
// Entry syntax, entries separated by " | ":
//   term=w          a whole word, or a sequence of whole words ("piece of shit")
//   stem*=w         a word starting with stem ("idiot*" → idiots, idiotic); the last word of a phrase may have it
//   *stem*=w        anywhere inside a word ("*fuck*" → clusterfuck); only for stems no ordinary word contains
//   !term=w         only in Vietnamese text (the term means something harmless in English: "dm", "cc", "lol")
//   term=w~a,b      (Han, kana, Hangul) not when part of a, b ("垃圾=0.2~垃圾桶,垃圾分类")
//
// Han, kana and Hangul terms are matched as substrings (those scripts have no spaces between words); all other
// terms as words.
//
// What is left out on purpose: words that are violent or crude only in some senses (kill, shoot, execute, beat,
// crack, hang, butcher, strangle, weed, blow up …). Threats are matched as phrases aimed at someone, in
// THREAT_PATTERNS below, so "How can I kill a Python process?" is not toxic.

import type { PhraseRule } from '../rules.ts';
import { list, rule } from './helpers.ts';

export type ToxicCategory = 'profanity' | 'insult' | 'slur' | 'threat' | 'sexual';

export interface LexiconBlock {
  lang: string;
  category: ToxicCategory;
  entries: string;
}

export const TOXICITY_LEXICON: readonly LexiconBlock[] = [
  // ------------------------------------------------------------------------------------------------ English
  {
    lang: 'en',
    category: 'profanity',
    entries: `*fuck*=0.38 | fjb=0.55 | let's go brandon=0.4 | lets go brandon=0.4 | fck=0.45 | fuk=0.45 | fuking=0.5 | fukin=0.5 | fkn=0.45 | fkin=0.45 | phuck*=0.5 | fuq=0.4 | wtf=0.25 | stfu=0.65 | gtfo=0.65 | *shit*=0.33 | sht=0.3 | crap=0.2 | crappy=0.2 | damn=0.1 | goddamn=0.2 | piss=0.3 | pissed=0.25 | piss off=0.5 | bullcrap=0.25 | bollocks=0.3 | bugger=0.25 | arse=0.3 | ass=0.3 | asses=0.3 | bloody hell=0.1 | hell no=0.1 | what the hell=0.15 | the hell=0.15 | freaking=0.1 | frickin=0.1 | effing=0.25 | mf=0.3 | mfs=0.3`,
  },
  {
    lang: 'en',
    category: 'insult',
    entries: `asshole*=0.7 | arsehole*=0.7 | *motherf*=0.8 | fucker*=0.75 | fuckface=0.8 | fuckhead*=0.8 | fuckwad*=0.8 | fuckwit*=0.8 | shithead*=0.75 | dipshit*=0.75 | shitbag*=0.75 | shitstain*=0.75 | piece of shit=0.75 | piece of crap=0.6 | piece of garbage=0.6 | piece of trash=0.6 | pos=0.3 | bitch*=0.6 | biatch=0.55 | beyotch=0.55 | son of a bitch=0.75 | bastard*=0.6 | dumbass*=0.65 | jackass*=0.6 | dickhead*=0.7 | dick=0.35 | dicks=0.35 | prick*=0.45 | cocksucker*=0.85 | douche*=0.55 | twat*=0.75 | wanker*=0.7 | cunt*=0.85 | idiot*=0.55 | moron*=0.6 | imbecile*=0.6 | cretin*=0.6 | stupid=0.45 | stupidity=0.3 | stupidest=0.45 | dumb=0.45 | dumber=0.45 | dumbest=0.45 | retard*=0.75 | loser*=0.45 | pathetic=0.45 | scum*=0.7 | lowlife*=0.6 | trash=0.25 | garbage=0.2 | clown*=0.35 | jerk*=0.45 | lunatic*=0.45 | psycho*=0.45 | degenerate*=0.6 | vermin=0.35 | subhuman*=0.8 | worthless=0.45 | disgusting=0.35 | filthy=0.3 | ignorant=0.35 | hypocrit*=0.35 | liar*=0.35 | traitor*=0.4 | treasonous=0.4 | pigs=0.3 | maggot*=0.6 | parasite*=0.5 | sheeple=0.5 | snowflake*=0.3 | crybaby=0.45 | cry baby=0.45 | freak=0.4 | freaks=0.4 | creep=0.35 | weirdo*=0.35 | nutjob*=0.55 | nutcase*=0.55 | numbnuts=0.6 | halfwit*=0.6 | dimwit*=0.6 | nitwit*=0.55 | buffoon*=0.5 | deplorable*=0.35 | libtard*=0.8 | trumptard*=0.8 | retardican*=0.8 | repuke*=0.7 | repugs=0.6 | libturd*=0.8 | demonrat*=0.7 | demon rats=0.6 | demorat*=0.7 | dumorat*=0.65 | dummycrat*=0.65 | dumbocrat*=0.7 | democrap*=0.7 | rethuglican*=0.7 | magat*=0.7 | commie*=0.4 | fascist*=0.35 | nazis=0.3 | bigot*=0.4 | pedo=0.6 | pedos=0.6 | pedophile*=0.5 | paedophile*=0.5 | rapist*=0.45 | thug*=0.45 | senile=0.45 | shut up=0.5 | shut the fuck up=0.85 | shut your mouth=0.6 | waste of space=0.6 | waste of oxygen=0.6 | brain dead=0.55 | braindead=0.6 | dumb as=0.5 | screw you=0.6 | up yours=0.6 | eat shit=0.75 | kiss my ass=0.6 | bite me=0.4 | go to hell=0.6 | burn in hell=0.7 | rot in hell=0.7 | roast in hell=0.7 | fry in hell=0.7 | get lost=0.3 | suck it=0.4 | sucks=0.2 | you suck=0.5 | crook*=0.35 | corrupt=0.2 | evil=0.15 | scumbag*=0.75 | slimeball*=0.6 | sleazebag*=0.6 | dirtbag*=0.6 | hag=0.45 | witch=0.2 | skank*=0.7 | tramp=0.4 | bimbo*=0.55 | incel*=0.45 | cuck*=0.6 | simp=0.35 | karen=0.15 | clueless=0.3 | incompetent=0.35 | useless=0.3 | ugly=0.3 | fat=0.15 | fatass=0.65 | lame=0.2 | sick=0.1 | sicko*=0.5 | insane=0.15 | crazy=0.1 | nuts=0.1 | nut job=0.55 | whining=0.2 | whiny=0.25 | spineless=0.4 | gutless=0.4 | coward*=0.4 | lying=0.25 | liars=0.4 | sociopath*=0.45 | psychopath*=0.45 | moronic=0.55 | idiotic=0.5 | asinine=0.45 | imbecilic=0.55 | cretinous=0.55 | hateful=0.2 | vile=0.35 | despicable=0.4 | scummy=0.55 | sleazy=0.4 | slimy=0.4 | gross=0.15 | nasty=0.2 | fool=0.35 | fools=0.35 | foolish=0.25 | poop=0.15 | turd*=0.55 | douchebag*=0.65`,
  },
  {
    lang: 'en',
    category: 'slur',
    entries: `*nigg*=0.9 | nigga*=0.75 | niglet*=0.9 | negro*=0.35 | faggot*=0.9 | fag=0.8 | fags=0.8 | dyke*=0.7 | tranny=0.8 | trannies=0.8 | shemale*=0.7 | kike*=0.9 | spic=0.85 | spics=0.85 | chink*=0.85 | gook*=0.85 | wetback*=0.9 | towelhead*=0.9 | raghead*=0.9 | sand monkey=0.9 | porch monkey=0.9 | jungle bunny=0.9 | camel jockey=0.9 | beaner*=0.85 | coon=0.6 | coons=0.6 | jap=0.5 | japs=0.6 | paki=0.8 | pakis=0.8 | mongoloid*=0.8 | yid=0.7 | yids=0.7 | white trash=0.7 | trailer trash=0.6 | redneck*=0.3 | hillbilly=0.3 | cracker=0.25 | gypsies=0.2 | halfbreed=0.7 | half breed=0.7 | zionazi*=0.8 | amerikkk*=0.45 | homo=0.6 | homos=0.6 | lesbo*=0.6 | ladyboy*=0.4 | shitskin*=0.95 | goyim=0.3 | infidels=0.3`,
  },
  {
    lang: 'en',
    category: 'sexual',
    entries: `slut*=0.75 | whore*=0.75 | hoe=0.4 | hoes=0.45 | thot=0.5 | thots=0.5 | pussy=0.45 | pussies=0.45 | cock=0.3 | cocks=0.3 | tits=0.3 | titties=0.35 | boobs=0.2 | cum=0.35 | jizz=0.5 | dildo*=0.4 | blowjob*=0.5 | handjob*=0.5 | suck my=0.6 | blow me=0.5 | horny=0.3 | porn=0.25 | milf*=0.4 | rape=0.3 | raped=0.3 | raping=0.35 | molest*=0.35 | pervert*=0.5 | perv=0.5 | nudes=0.25 | skanks=0.7`,
  },
  {
    lang: 'en',
    category: 'threat',
    entries: `kys=0.8 | kill yourself=0.85 | kill urself=0.85 | go die=0.7 | drop dead=0.6 | die in a fire=0.8 | hope you die=0.85 | neck yourself=0.8 | hang yourself=0.8 | off yourself=0.7 | i will find you=0.6 | watch your back=0.5 | you're dead=0.5 | you are dead=0.45 | you will pay=0.3 | should be shot=0.75 | should be hanged=0.75 | should be hung=0.7 | should be executed=0.6 | should be killed=0.75 | should be lynched=0.85 | should be gassed=0.9 | should die=0.6 | deserve to die=0.7 | deserves to die=0.7 | deserves death=0.6 | needs to die=0.7 | need to die=0.65 | must die=0.6 | line them up=0.6 | thin this crowd=0.5 | wipe them out=0.7 | gas them=0.85 | shoot them=0.6 | hang them=0.7 | lynch them=0.75 | lynch him=0.7 | lynch her=0.7 | eradicate them=0.7 | i hope they die=0.8 | hope they die=0.75 | hope he dies=0.75 | hope she dies=0.75`,
  },

  // -------------------------------------------------------------------------------------------- Vietnamese
  {
    lang: 'vi',
    category: 'profanity',
    entries: `đm=0.6 | đ m=0.55 | !ml=0.55 | !cdg=0.6 | !sml=0.55 | cmne=0.5 | con mẹ nó=0.55 | mẹ nó=0.35 | lòn=0.6 | !lone=0.45 | đíu=0.45 | đếu=0.45 | đell=0.45 | dmcs*=0.7 | trym=0.45 | quần què=0.45 | đmm=0.65 | !dm=0.55 | dmm=0.6 | đcm=0.7 | dcm=0.7 | đkm=0.65 | dkm=0.65 | đcmm=0.75 | dcmm=0.75 | cmm=0.6 | đù=0.3 | á đù=0.35 | vl=0.5 | vkl=0.55 | vcl=0.6 | vlz=0.5 | vãi=0.3 | vãi lồn=0.75 | vãi l=0.65 | vãi cả lồn=0.75 | vđ=0.3 | !cl=0.5 | clm=0.6 | clgt=0.55 | !cc=0.5 | cức=0.5 | cứt=0.4 | ỉa=0.35 | đái=0.25 | cặc=0.7 | !cak=0.5 | buồi=0.7 | dái=0.35 | lồn=0.75 | lìn=0.65 | !lol=0.5 | !loz=0.55 | !l=0.05 | đéo=0.6 | đếch=0.45 | !éo=0.45 | !dell=0.45 | !deo=0.1 | địt=0.75 | !dit=0.4 | đụ=0.65 | đụ má=0.8 | đụ mẹ=0.8 | !du ma=0.7 | địt mẹ=0.85 | !dit me=0.75 | địt con mẹ=0.9 | mẹ mày=0.65 | !me may=0.55 | con mẹ mày=0.8 | má mày=0.6 | bố mày=0.4 | cha mày=0.45 | mả mẹ=0.7 | tổ sư=0.55 | mẹ kiếp=0.6 | chết mẹ=0.45 | chết cha=0.35 | cmnr=0.3 | vãi chưởng=0.2 | nứng=0.55 | đĩ mẹ=0.85`,
  },
  {
    lang: 'vi',
    category: 'insult',
    entries: `ngu=0.55 | ngu si=0.65 | ngu dốt=0.65 | ngu học=0.65 | ngu như bò=0.75 | ngu như chó=0.75 | ngu như lợn=0.75 | ngu vãi=0.7 | đồ ngu=0.75 | thằng ngu=0.75 | con ngu=0.75 | bọn ngu=0.75 | óc chó=0.8 | !oc cho=0.7 | óc lợn=0.75 | óc bò=0.7 | óc heo=0.7 | não tàn=0.7 | bại não=0.7 | não ngắn=0.55 | thiểu năng=0.65 | đần=0.5 | đần độn=0.6 | khùng=0.4 | con điên=0.55 | thằng điên=0.6 | tào lao=0.35 | âm binh=0.4 | rẻ rách=0.4 | điên=0.25 | tâm thần=0.3 | ngáo=0.45 | ngáo đá=0.55 | chó=0.3 | đồ chó=0.75 | thằng chó=0.75 | con chó=0.35 | lũ chó=0.75 | bọn chó=0.75 | chó má=0.75 | chó chết=0.75 | chó đẻ=0.8 | chó điên=0.65 | như chó=0.6 | súc vật=0.65 | súc sinh=0.7 | khốn nạn=0.7 | khốn kiếp=0.65 | mất dạy=0.65 | vô học=0.55 | vô giáo dục=0.6 | mất nết=0.55 | bố láo=0.6 | láo=0.35 | hỗn láo=0.55 | láo toét=0.55 | mặt dày=0.55 | mặt lồn=0.85 | trẻ trâu=0.45 | bò đỏ=0.6 | ba que=0.6 | !3 que=0.6 | dlv=0.4 | dư luận viên=0.35 | cặn bã=0.65 | rác rưởi=0.55 | đồ rác=0.65 | rác=0.2 | xạo=0.35 | xạo lồn=0.8 | !xạo l=0.65 | xàm=0.3 | xàm lồn=0.8 | nhảm=0.2 | câm mồm=0.65 | câm miệng=0.55 | ngậm mồm=0.55 | cút=0.45 | cút đi=0.6 | biến đi=0.45 | chết đi=0.6 | đi chết đi=0.75 | hãm=0.45 | hãm lồn=0.85 | ăn hại=0.45 | ăn bám=0.4 | vô liêm sỉ=0.65 | đểu=0.4 | đểu cáng=0.55 | thất đức=0.5 | đê tiện=0.6 | bần tiện=0.5 | hèn=0.3 | hèn hạ=0.55 | ranh con=0.5 | bố đời=0.5 | sủa=0.5 | tởm=0.45 | kinh tởm=0.45 | ghê tởm=0.45 | dơ=0.25 | dơ bẩn=0.4 | bẩn thỉu=0.4 | thằng=0.15 | con đĩ=0.8 | đĩ=0.75 | đĩ điếm=0.85 | điếm=0.6 | !phò=0.6 | !cave=0.35 | đồng bóng=0.5 | bê đê=0.6 | pê đê=0.6 | bede=0.55 | bắc kỳ=0.6 | bắc kì=0.6 | parky=0.7 | nam kỳ=0.35 | tàu khựa=0.7 | khựa=0.6 | mọi rợ=0.6 | man rợ=0.4 | lợn=0.25 | con lợn=0.45 | đồ lợn=0.65 | như lợn=0.5 | heo=0.1 | thú vật=0.55 | quỷ=0.25 | ma quỷ=0.3 | quỷ khùng=0.55 | yêu quái=0.3 | phản động=0.3 | tham nhũng=0.15 | lừa đảo=0.3 | ăn cướp=0.35 | cướp=0.2 | tụi mày=0.3 | bọn mày=0.35 | chúng mày=0.3 | lũ=0.2 | bọn=0.15 | mày=0.2 | !may=0.02 | tao=0.15 | bọn nó=0.2 | !vkl=0.5 | !vcl=0.55 | !ngu=0.5 | !thang cho=0.65 | !do cho=0.6 | !cai lon=0.7 | !mat lon=0.7 | !tuoi lon=0.6`,
  },
  {
    lang: 'vi',
    category: 'threat',
    entries: `giết mày=0.8 | treo cổ=0.35 | treo cổ nó=0.7 | treo cổ chúng=0.7 | treo cổ bọn=0.7 | tao giết=0.7 | chém chết=0.65 | đánh chết=0.6 | đập chết=0.6 | giết hết=0.6 | giết chết=0.45 | cho chết=0.45 | chết hết=0.45 | bắn bỏ=0.6 | xử bắn=0.5 | tử hình=0.2`,
  },

  // ----------------------------------------------------------------------------------------------- Chinese
  {
    lang: 'zh',
    category: 'profanity',
    entries: `操你妈=0.9 | 操你媽=0.9 | 草泥马=0.85 | 草你妈=0.9 | 草你媽=0.9 | 肏=0.75 | 操你=0.8 | 妈的=0.45 | 媽的=0.45 | 他妈=0.5 | 他媽=0.5 | 你妈=0.4~你妈妈,你妈说 | 你媽=0.4~你媽媽 | 尼玛=0.5 | 卧槽=0.35 | 我靠=0.25 | 狗屎=0.55 | 屌=0.4 | 鸡巴=0.7 | 雞巴=0.7 | 日你=0.7 | 狗日的=0.8 | 牛逼=0.2 | 装逼=0.45 | 傻屌=0.8`,
  },
  {
    lang: 'zh',
    category: 'insult',
    entries: `傻逼=0.85 | 傻b=0.8 | 傻屄=0.85 | 煞笔=0.8 | 沙比=0.7 | 傻叉=0.75 | 傻瓜=0.35 | 白痴=0.55 | 智障=0.6 | 脑残=0.6 | 腦殘=0.6 | 贱人=0.7 | 賤人=0.7 | 贱货=0.75 | 賤貨=0.75 | 婊子=0.8 | 骚货=0.75 | 騷貨=0.75 | 垃圾=0.2~垃圾桶,垃圾分类,垃圾分類,垃圾邮件,垃圾郵件,垃圾回收,垃圾食品,垃圾车,垃圾車,垃圾场,垃圾場,垃圾袋,垃圾处理,垃圾處理 | 废物=0.5~废物利用,废物回收 | 廢物=0.5~廢物利用 | 混蛋=0.6 | 王八蛋=0.75 | 王八=0.45 | 滚蛋=0.55 | 滚开=0.5 | 給我滾=0.55 | 给我滚=0.55 | 去死=0.6 | 死全家=0.85 | 杂种=0.8 | 雜種=0.8 | 畜生=0.6 | 畜牲=0.6 | 蠢货=0.55 | 蠢貨=0.55 | 蠢猪=0.6 | 蠢豬=0.6 | 弱智=0.55 | 人渣=0.7 | 神经病=0.45 | 神經病=0.45 | 变态=0.35 | 變態=0.35 | 贱=0.3 | 废柴=0.45 | 丑八怪=0.55 | 醜八怪=0.55 | 死胖子=0.55 | 狗东西=0.7 | 狗東西=0.7 | 混账=0.55 | 混帳=0.55 | 闭嘴=0.45 | 閉嘴=0.45 | 滚出去=0.55 | 滾出去=0.55`,
  },
  {
    lang: 'zh',
    category: 'slur',
    entries: `黑鬼=0.85 | 支那=0.85 | 小日本=0.65 | 死基佬=0.8 | 基佬=0.45 | 阿三=0.5 | 棒子=0.3 | 鬼子=0.5 | 娘炮=0.65 | 死同性恋=0.8`,
  },
  {
    lang: 'zh',
    category: 'threat',
    entries: `杀了你=0.8 | 殺了你=0.8 | 弄死你=0.85 | 砍死你=0.85 | 打死你=0.7 | 宰了你=0.8 | 你去死吧=0.8 | 全家死光=0.9`,
  },

  // ---------------------------------------------------------------------------------------------- Japanese
  {
    lang: 'ja',
    category: 'insult',
    entries: `死ね=0.75 | しね=0.5~しねん,しねま | 氏ね=0.7 | バカ=0.45 | 馬鹿=0.45~馬鹿馬鹿しい | ばか=0.4 | アホ=0.45 | あほ=0.4 | クソ=0.45 | くそ=0.35 | ブス=0.6 | キモい=0.55 | きもい=0.55 | キモイ=0.55 | キモ=0.45 | うざい=0.45 | ウザい=0.45 | ウザイ=0.45 | うぜえ=0.5 | 消えろ=0.6 | ゴミ=0.35~ゴミ箱,ゴミ袋,ゴミの日,ゴミ出し,ゴミ収集 | カス=0.5~カスタ,カスタム,カスタード | クズ=0.6 | 黙れ=0.55 | ちんこ=0.5 | まんこ=0.6 | 売女=0.8 | ガイジ=0.8 | きちがい=0.75 | キチガイ=0.75 | 気違い=0.75 | 役立たず=0.5 | 無能=0.4 | ボケ=0.4 | ハゲ=0.4 | デブ=0.45 | 低能=0.55 | ざまあみろ=0.5 | ざまぁ=0.4 | くたばれ=0.7 | ぶさいく=0.5 | 不細工=0.5 | 引きこもり=0.15`,
  },
  {
    lang: 'ja',
    category: 'slur',
    entries: `チョン=0.6~チョンマゲ | 土人=0.6 | 支那人=0.85 | ホモ野郎=0.8 | オカマ=0.5 | 障害者め=0.8 | ジャップ=0.8`,
  },
  {
    lang: 'ja',
    category: 'threat',
    entries: `殺すぞ=0.85 | ぶっ殺す=0.85 | 殺してやる=0.85 | ころすぞ=0.8 | 殺す=0.5~殺すな | ぶっ飛ばす=0.5`,
  },

  // ------------------------------------------------------------------------------------------------ Korean
  {
    lang: 'ko',
    category: 'profanity',
    entries: `씨발=0.8 | 시발=0.75~시발점,시발역,시발택시 | 씨팔=0.75 | 시팔=0.7 | 씨바=0.65 | ㅅㅂ=0.7 | ㅆㅂ=0.7 | 좆=0.65 | 좇=0.6 | 존나=0.5 | 졸라=0.4 | ㅈㄴ=0.45 | 지랄=0.6 | ㅈㄹ=0.55 | 엿먹어=0.6 | 젠장=0.25 | 빌어먹을=0.45`,
  },
  {
    lang: 'ko',
    category: 'insult',
    entries: `병신=0.75 | ㅂㅅ=0.7 | 븅신=0.75 | 개새끼=0.85 | 개새=0.7 | 개색기=0.8 | 개색히=0.8 | ㄱㅅㄲ=0.75 | 새끼=0.35 | 미친놈=0.7 | 미친년=0.75 | 미친새끼=0.8 | 미친=0.3 | 꺼져=0.55 | 닥쳐=0.55 | 닥치고=0.4 | 멍청이=0.5 | 멍청한=0.4 | 바보=0.3 | 쓰레기=0.35~쓰레기통,쓰레기 분리,쓰레기봉투,쓰레기 처리 | 창녀=0.8 | 애미=0.7 | 느금마=0.85 | 니애미=0.85 | 니미=0.6 | 찐따=0.6 | 등신=0.6 | 또라이=0.55 | 꼴통=0.5 | 재수없=0.4 | 한남충=0.8 | 김치녀=0.8 | 틀딱=0.7 | 급식충=0.65 | 맘충=0.7 | 벌레=0.15 | 뒤져=0.6 | 뒤질래=0.65 | 죽어라=0.6 | 돼지=0.2`,
  },
  {
    lang: 'ko',
    category: 'slur',
    entries: `짱깨=0.8 | 쪽발이=0.85 | 쪽바리=0.85 | 흑형=0.3 | 똥남아=0.8 | 게이새끼=0.85`,
  },
  {
    lang: 'ko',
    category: 'threat',
    entries: `죽여버릴=0.85 | 죽여버린다=0.85 | 죽인다=0.6 | 죽여줄까=0.6 | 패버린다=0.65`,
  },

  // ----------------------------------------------------------------------------------------------- Russian
  {
    lang: 'ru',
    category: 'profanity',
    entries: `бля=0.55 | блять=0.65 | блядь=0.7 | бляди=0.7 | блядина=0.8 | хуй*=0.75 | хуе*=0.7 | хуи=0.7 | хуя*=0.65 | нахуй=0.75 | пизд*=0.75 | ебать=0.75 | ебал*=0.75 | ебан*=0.8 | ебу=0.7 | ебет=0.7 | еби=0.7 | заеб*=0.65 | уеб*=0.8 | выеб*=0.7 | ебуч*=0.75 | говн*=0.5 | сука=0.6 | суки=0.6 | сукой=0.6 | сучка=0.65 | срань=0.45 | жопа=0.4 | жопу=0.4 | херня=0.35 | нахер=0.45 | похер=0.35 | хер=0.35`,
  },
  {
    lang: 'ru',
    category: 'insult',
    entries: `мудак*=0.75 | мудил*=0.75 | долбоеб*=0.85 | дебил*=0.6 | идиот*=0.55 | тупой=0.45 | тупая=0.45 | тупые=0.45 | тупица=0.5 | урод*=0.6 | тварь=0.7 | твари=0.7 | мразь=0.8 | мрази=0.8 | чмо=0.7 | гнида=0.75 | гниды=0.75 | сволочь=0.6 | сволочи=0.6 | ублюд*=0.75 | выродок=0.7 | выродки=0.7 | скотина=0.5 | козел=0.35 | козлы=0.4 | лох=0.4 | лохи=0.4 | даун=0.5 | дура=0.35 | дурак=0.35 | дураки=0.35 | придурок=0.55 | придурки=0.55 | кретин*=0.6 | дегенерат*=0.65 | ничтожество=0.6 | заткнись=0.5 | отвали=0.45 | шлюха=0.8 | шлюхи=0.8 | проститутка=0.4 | пидор*=0.9 | пидар*=0.9 | педик*=0.8 | гомик*=0.7 | шалава=0.75 | быдло=0.6 | дерьмо=0.5 | мерзавец=0.5 | подонок=0.6 | подонки=0.6`,
  },
  {
    lang: 'ru',
    category: 'slur',
    entries: `чурка=0.85 | чурки=0.85 | хохол=0.6 | хохлы=0.6 | жид=0.85 | жиды=0.85 | жидов*=0.85 | черножоп*=0.9 | нигер*=0.9 | негритос*=0.8 | чучмек*=0.85 | хач=0.8 | хачи=0.8 | москаль=0.5 | кацап*=0.6 | ватник*=0.5 | укроп*=0.5`,
  },
  {
    lang: 'ru',
    category: 'threat',
    entries: `убью тебя=0.85 | я тебя убью=0.85 | убей себя=0.85 | сдохни=0.75 | чтоб ты сдох=0.85 | чтоб ты сдохла=0.85 | сдохнуть=0.4 | убить всех=0.6 | расстрелять=0.45 | повесить их=0.7`,
  },

  // ------------------------------------------------------------------------------------------------ Arabic
  {
    lang: 'ar',
    category: 'insult',
    entries: `يا كلب=0.7 | كلب=0.25 | يا حمار=0.65 | حمار=0.3 | غبي=0.45 | يا غبي=0.6 | اغبياء=0.5 | احمق=0.5 | حمقي=0.5 | ابن الكلب=0.8 | ابن كلب=0.8 | ابن الحرام=0.75 | ابن حرام=0.75 | تافه=0.4 | حقير=0.55 | حقيره=0.55 | حيوان=0.3 | يا حيوان=0.65 | اخرس=0.5 | قذر=0.45 | وسخ=0.4 | نجس=0.5 | متخلف=0.55 | معفن=0.5 | زباله=0.35 | خنزير=0.45 | يا خنزير=0.75 | خنازير=0.5 | يلعن=0.5 | يلعن ابوك=0.8 | لعنه الله عليك=0.65 | كلاب=0.35 | حثاله=0.6 | جاهل=0.35 | سافل=0.6 | منحط=0.55 | ساقط=0.45 | عديم الشرف=0.65`,
  },
  {
    lang: 'ar',
    category: 'sexual',
    entries: `شرموط=0.85 | شرموطه=0.85 | عاهره=0.75 | قحبه=0.85 | كس=0.6 | كس امك=0.9 | كسمك=0.9 | زب=0.6 | زبي=0.65 | منيك=0.85 | نيك=0.6 | خول=0.75 | لوطي=0.7 | متناك=0.85 | عرص=0.8 | معرص=0.8`,
  },
  {
    lang: 'ar',
    category: 'threat',
    entries: `سأقتلك=0.85 | ساقتلك=0.85 | اقتلك=0.8 | راح اقتلك=0.85 | موت يا=0.6 | الموت لك=0.7 | انتحر=0.3`,
  },
];

/** Words that, masked with * or #, still spell a strong term ("f*ck", "sh#t", "n****r"). */
export const MASKABLE: readonly { word: string; weight: number; category: ToxicCategory }[] = [
  ...list('fuck|fucking|fucked|fucker|fuckers|fuckin|motherfucker').map((word) => ({ word, weight: 0.55, category: 'profanity' as const })),
  ...list('shit|shitty|bullshit').map((word) => ({ word, weight: 0.4, category: 'profanity' as const })),
  ...list('bitch|bitches|asshole|cunt|twat|whore|slut|pussy|dick|cock|bastard|retard').map((word) => ({ word, weight: 0.6, category: 'insult' as const })),
  ...list('nigger|niggers|nigga|faggot|fag').map((word) => ({ word, weight: 0.85, category: 'slur' as const })),
];

/** Words that make an insult personal when they come just before it ("you idiot", "mày ngu"). */
export const ADDRESS_WORDS: ReadonlySet<string> = new Set(
  list('you|youre|ur|u|ya|yall|your|ye|mày|mầy|bây|thằng|ты|вы|тебя|тебе|твой|твоя|انت|انتي|يا|du|dich|dir'),
);

/**
 * Hate and threat patterns: phrases aimed at someone or some group. Matched like the injection rules (anchor word
 * plus regex) on the normalised text.
 */
const GROUPS =
  '(?:jews|jewish people|muslims|moslems|blacks|black people|whites|white people|gays|gay people|lesbians|trans people|transgenders|immigrants|illegals|migrants|refugees|mexicans|asians|chinese|arabs|africans|indians|latinos|hispanics|women|females|men|christians|catholics|hindus|liberals|conservatives|democrats|republicans|leftists|gypsies|roma|foreigners|niggers|faggots|retards)';

export const THREAT_PATTERNS: readonly PhraseRule[] = [
  rule('threat.kill_you.en', 'threat', 0.8, list("i will|i'll|i am going to|i'm going to|im going to|i'm gonna|im gonna|gonna|we will|we'll|i want to|i wanna|i'd|i would|someone should|somebody should|they should|someone needs to|i hope someone|let's"), ` (?:fucking |literally |personally |just )?(?:kill|murder|shoot|stab|strangle|choke|hang|lynch|rape|slit|behead|gut|torture|bury|burn|beat the shit out of|beat the crap out of|beat|break|smash|punch|slap|hunt down|end) (?:you|u|ya|him|her|them|your|this (?:guy|bitch|bastard|idiot|woman|man)|that (?:guy|bitch|bastard|idiot|woman|man)|all)(?![\\p{L}\\p{N}])`),
  rule('threat.wish_death.en', 'threat', 0.75, list('i hope|hope|i wish|wish|may'), ` (?:you|u|he|she|they|him|her|them|your \\w+|his \\w+|her \\w+) (?:all )?(?:die|dies|get cancer|gets cancer|burn|burns|rot|rots|suffer|suffers|choke|chokes|get shot|gets shot|get raped|gets raped|drown|drowns)(?![\\p{L}\\p{N}])`),
  rule('threat.should_be.en', 'threat', 0.7, list('should|should all|must|needs to|need to|ought to|deserve to|deserves to'), ` (?:all )?(?:be )?(?:shot|hanged|hung|killed|executed|lynched|gassed|burned|burnt|beheaded|exterminated|eradicated|deported|castrated|put down|wiped out|locked up and|tortured|raped)(?![\\p{L}\\p{N}])`),
  rule('threat.kill_group.en', 'threat', 0.85, list('kill|exterminate|eradicate|wipe out|gas|lynch|shoot|hang|deport|get rid of|eliminate|purge|cleanse'), ` (?:all |every |the |those |these )*${GROUPS}(?![\\p{L}\\p{N}])`),
  rule('hate.group_are.en', 'slur', 0.7, list('jews|jewish|muslims|moslems|blacks|black|whites|white|gays|gay|lesbians|trans|transgenders|immigrants|illegals|migrants|refugees|mexicans|asians|chinese|arabs|africans|indians|latinos|hispanics|women|females|christians|gypsies|roma|foreigners|liberals|democrats|republicans|conservatives|leftists'), ` (?:people |men |women |folks )?(?:are|is) (?:all |just |nothing but |a bunch of |the |such |literally )*(?:animals|vermin|parasites|subhuman|scum|rats|cockroaches|pigs|trash|garbage|filth|evil|a disease|a cancer|inferior|savages|apes|monkeys|dogs|worthless|a plague|disgusting|pedophiles|terrorists|criminals|idiots|morons|retarded|stupid|degenerates|mentally ill|sick|the problem|the enemy)(?![\\p{L}\\p{N}])`),
  rule('hate.go_back.en', 'slur', 0.6, list('go back to'), ` (?:your|their|his|her) (?:own )?(?:country|countries|shithole|cave|jungle|desert|homeland)(?![\\p{L}\\p{N}])`),
  rule('insult.you_are.en', 'insult', 0.5, list("you are|you're|youre|ur|you|u r|u are|ur a|you're a|you are a|you're such a|you are such a|you are an|you're an|what a|such a|bunch of|all you|you people|you all|y'all are|you guys are"), ` (?:a |an |such a |so |fucking |complete |total |absolute |bunch of |utter |stupid |little |big |dumb |pathetic |worthless )*(?:idiot|moron|imbecile|loser|clown|joke|disgrace|failure|fraud|coward|liar|hypocrite|piece of|waste|embarrassment|scumbag|psycho|lunatic|retard|freak|creep|pig|animal|dog|rat|snake|parasite|monster|nobody|jerk|fool|sheep|traitor|cuck|bitch|whore|slut|dumbass|asshole|bastard)s?(?![\\p{L}\\p{N}])`),
  rule('threat.die.en', 'threat', 0.65, list('die already|just die|please die|go die|get sick and die|should just die|drink bleach|eat a bullet'), `(?![\\p{L}\\p{N}])`),
  rule('insult.fuck_x.en', 'insult', 0.55, list('fuck|fck|fuk|screw'), ` (?:you|u|ya|off|him|her|them|that|this|those|these|all|every|yourself|em|your|his|their|the)(?![\\p{L}\\p{N}])`),
  rule('insult.stupid_you.en', 'insult', 0.45, list('how stupid|how dumb|how pathetic|how ignorant|so stupid|so dumb|too stupid|too dumb|so pathetic|so ignorant'), ` (?:are |is |can )?(?:you|u|they|he|she|these people|those people|people|anyone)(?![\\p{L}\\p{N}])`),
];
