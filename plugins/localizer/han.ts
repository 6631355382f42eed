// Simplified or Traditional Chinese, from characters that only one of the two scripts uses.
//
// Detectors say "zh" and stop; this tells zh-Hans from zh-Hant by counting script-specific characters.

/**
 * Traditional/Simplified character pairs (Traditional first) whose two forms are each used by one script only.
 * Pairs whose simplified form is also an ordinary Traditional character are left out (台 里 面 只 几 干 系 制 周 表
 * 云 余 游 志 范 准 着 内); 后/後 stays, as 后 ("empress") is rare in a Traditional chat message.
 */
const HAN_PAIRS: readonly string[] = [
  '這这 們们 說说 為为 會会 來来 個个 時时 國国 學学 對对 過过 還还 點点 嗎吗 麼么 沒没 問问 題题 開开',
  '關关 與与 電电 腦脑 網网 頁页 話话 語语 請请 謝谢 讓让 從从 後后 見见 現现 發发 經经 長长 動动 機机',
  '車车 東东 間间 實实 產产 種种 樣样 應应 當当 萬万 無无 條条 專专 業业 書书 買买 賣卖 錢钱 號号 幫帮',
  '戶户 帳账 碼码 輸输 錯错 誤误 訊讯 認认 證证 設设 計计 處处 據据 數数 庫库 務务 員员 寫写 讀读 聽听',
  '飯饭 館馆 鐘钟 歡欢 樂乐 愛爱 親亲 戰战 爭争 區区 醫医 藥药 療疗 護护 辦办 樓楼 華华 氣气 漢汉 灣湾',
  '億亿 價价 傳传 優优 僅仅 兒儿 創创 勞劳 協协 單单 嚴严 圖图 團团 壓压 報报 場场 塊块 壞坏 夢梦 寶宝',
  '導导 將将 屬属 歲岁 幣币 廣广 廳厅 張张 彈弹 歸归 態态 總总 憶忆 戲戏 擇择 擊击 擔担 損损 換换 擴扩',
  '於于 極极 構构 標标 樹树 橋桥 檢检 權权 歷历 殺杀 決决 況况 減减 溫温 測测 滿满 濟济 熱热 營营 爾尔',
  '獨独 獎奖 環环 畫画 盡尽 監监 確确 禮礼 稱称 穩稳 筆笔 節节 簡简 紀纪 約约 級级 紅红 紙纸 細细 終终',
  '組组 結结 給给 統统 絕绝 綠绿 維维 線线 練练 編编 續续 職职 聯联 聲声 舉举 舊旧 藝艺 術术 補补 裝装',
  '規规 視视 覺觉 觀观 訂订 記记 討讨 許许 評评 試试 詳详 誰谁 課课 調调 談谈 論论 講讲 識识 議议 變变',
  '負负 財财 責责 貨货 質质 購购 費费 資资 軟软 較较 載载 輕轻 轉转 運运 進进 遠远 連连 達达 選选 邊边',
  '郵邮 鄉乡 針针 鐵铁 錄录 鍵键 門门 閱阅 隊队 陽阳 際际 險险 隨随 雖虽 雙双 雜杂 雞鸡 離离 難难 響响',
  '項项 順顺 預预 領领 頭头 頻频 顏颜 類类 顯显 風风 飛飞 飲饮 馬马 驗验 體体 魚鱼 鳥鸟 黃黄 齊齐 龍龙',
  '亂乱 興兴 擬拟 檔档 儲储 帶带 貼贴 啟启 閉闭 絡络 夾夹 則则 兩两 媽妈 緊紧 慮虑 憂忧 驚惊 讚赞 貓猫',
  '豬猪 湯汤 師师 譯译 詞词 義义 習习 剛刚 備备 猶犹 豐丰 麗丽 壽寿 憲宪 屆届 鮮鲜 驟骤 參参 異异 刪删',
  '瀏浏 覽览 腳脚 執执 訴诉 繼继 鏡镜 虛虚 鏈链 緩缓 獲获 鍋锅 餅饼 飽饱 餓饿 鴨鸭 蝦虾 蘋苹 蘭兰 藍蓝',
  '蓋盖 詢询 該该 誕诞 誠诚 諾诺 謀谋 謎谜 謂谓 謹谨 譜谱 譽誉 豎竖 貢贡 貧贫 貪贪 販贩 貫贯 貴贵 貸贷',
  '貿贸 賀贺 賓宾 賞赏 賠赔 賭赌 賴赖 賺赚 贈赠 趨趋 躍跃 軌轨 軸轴 輔辅 輛辆 輩辈 輪轮 輯辑 辭辞 遞递',
  '遲迟 邁迈 醬酱 釋释 釣钓 鈕钮 銀银 銅铜 銷销 鋒锋 鋼钢 錦锦 鎖锁 閃闪 閣阁 闊阔 闖闯 陣阵 階阶 霧雾',
  '靜静 頂顶 頓顿 顆颗 額额 顧顾 飄飘 餃饺 駐驻 鹽盐 齒齿 龜龟 掃扫 揚扬 擠挤 擺摆 搶抢 搖摇 敗败 暫暂',
  '櫃柜 歐欧 殘残 濕湿 潔洁 澤泽 濃浓 燒烧 爺爷 狀状 瘋疯 盜盗 礦矿 磚砖 禍祸 稅税 窮穷 築筑 簽签 籃篮',
  '籠笼 糾纠 紋纹 紛纷 絲丝 綁绑 緒绪 縮缩 織织 繩绳 繪绘 羅罗 聖圣 聰聪 腫肿 膚肤 膽胆 臉脸 艦舰 薩萨',
  '觸触 訓训 診诊 詐诈 諒谅 謊谎 贏赢 踐践 遙遥 隱隐 聞闻 陳陈 鬧闹 驅驱 駕驾 騎骑 罵骂 滅灭 燈灯 爐炉',
  '韋韦 擁拥 鵝鹅 鷹鹰 鳴鸣 鯨鲸 魯鲁',
];

/** Traditional-only forms whose simplified counterpart is ambiguous (or that are Hong Kong variants). */
const TRADITIONAL_ONLY = '裡裏麵髮隻幹臺週範遊製複劃鬥餘雲係誌鬆幾準醜説爲啓綫衆';

const TRADITIONAL = new Set<string>();
const SIMPLIFIED = new Set<string>();
const HAN = /^\p{Script=Han}$/u;
for (const line of HAN_PAIRS) {
  for (const pair of line.split(' ')) {
    const [trad, simp, ...rest] = [...pair];
    // A typo here would silently skew every answer: refuse to load instead.
    if (trad === undefined || simp === undefined || rest.length > 0 || !HAN.test(trad) || !HAN.test(simp) || trad === simp) {
      throw new Error(`han.ts: bad pair "${pair}"`);
    }
    TRADITIONAL.add(trad);
    SIMPLIFIED.add(simp);
  }
}
for (const ch of TRADITIONAL) if (SIMPLIFIED.has(ch)) throw new Error(`han.ts: "${ch}" is in both scripts`);
for (const ch of TRADITIONAL_ONLY) TRADITIONAL.add(ch);

/** Number of character pairs in the Traditional/Simplified table (for tests and the eval). */
export const HAN_PAIR_COUNT = HAN_PAIRS.reduce((n, line) => n + line.split(' ').length, 0);

/**
 * Simplified or Traditional, by counting characters that exist in only one of the two scripts.
 * `null` when the text has none of them (e.g. 你好) or as many of each.
 */
export function hanVariant(text: string): { lang: 'zh-Hans' | 'zh-Hant'; confidence: number } | null {
  let trad = 0;
  let simp = 0;
  for (const ch of text) {
    if (TRADITIONAL.has(ch)) trad++;
    else if (SIMPLIFIED.has(ch)) simp++;
  }
  if (trad === simp) return null;
  const lang = trad > simp ? 'zh-Hant' : 'zh-Hans';
  const share = Math.max(trad, simp) / (trad + simp);
  // One telling character is good evidence; more is better, a mix less so.
  return { lang, confidence: Math.min(0.99, share * (0.8 + 0.05 * Math.min(4, Math.abs(trad - simp)))) };
}
