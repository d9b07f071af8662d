/**
 * What a question is made of for matching: words (Chinese segmented by jieba, English stemmed, stop words dropped)
 * and character n-grams (CJK bigrams, English trigrams), which keep short and misspelled input matchable.
 */
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict';
import { pinyin } from 'pinyin-pro';
// Neither stopword nor wink-porter2-stemmer ships types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { eng, zho } = require('stopword') as { eng: string[]; zho: string[] };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const stem = require('wink-porter2-stemmer') as (word: string) => string;

/**
 * Each feature of a text and how often it occurs: `w:` word, `b:` CJK character bigram, `p:` pinyin syllable
 * bigram (a wrong character typed by its sound still matches), `t:` letter trigram.
 */
export type Features = Map<string, number>;

let jieba: Jieba | undefined;
/** The dictionary takes about 200 ms to load: only when the first question is matched. */
function segmenter(): Jieba {
  jieba ??= Jieba.withDict(dict);
  return jieba;
}

// Function words of questions (the stopword package's Chinese list has few); greetings stay: chitchat matches on them.
const stopWords = new Set([
  ...eng, ...zho, 'please',
  '吗', '呢', '吧', '啊', '呀', '请问', '一下', '你们', '我们', '他们', '这个', '那个', '一个', '可以', '能', '能不能', '可不可以',
  '是', '有', '没有', '怎么', '怎么办', '怎样', '如何', '什么', '哪里', '哪儿', '还', '想', '要', '我想', '帮', '帮我', '请', '麻烦',
  '现在', '已经', '刚', '刚刚', '了', '的', '我的', '你', '我',
]);
const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;
const WORD = /^[\p{L}\p{N}]+$/u;

/** How much each kind of feature counts: whole words most. */
const featureWeights: Record<string, number> = { w: 1, b: 0.5, t: 0.5, p: 0.4 };

function weightOf(feature: string): number {
  return featureWeights[feature[0]] ?? 1;
}

/** How rare a feature held by `df` of `docs` documents is (a feature no document holds counts as held by one). */
export const rarity = (docs: number, df: number): number => Math.log(1 + docs / Math.max(1, df));

/** A feature's TF-IDF weight in a text: sublinear occurrences, times its rarity, times its kind's weight. */
export const featureWeight = (feature: string, tf: number, idf: number): number => (1 + Math.log(tf)) * idf * weightOf(feature);

/** Lower case, full-width forms folded (NFKC), runs of anything but letters and digits made one space. */
export function normalize(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

function add(f: Features, key: string): void {
  f.set(key, (f.get(key) ?? 0) + 1);
}

/**
 * The features of a text; an empty map when nothing in it can be matched. Character n-grams are taken over the
 * content words (function words left out, so "款吗" or "你们" do not count as likeness), or over the whole text when
 * it has nothing but function words ("在吗").
 */
export function features(text: string): Features {
  const f: Features = new Map();
  const norm = normalize(text);
  if (!norm) return f;
  const content: string[] = [];
  let run = '';
  for (const token of segmenter().cut(norm, false)) {
    const kept = WORD.test(token) && !stopWords.has(token);
    if (CJK.test(token)) {
      if (kept) {
        add(f, `w:${token}`);
        run += token;
      }
      continue;
    }
    if (run) content.push(run);
    run = '';
    if (kept) {
      add(f, `w:${stem(token)}`);
      if (token.length > 2) trigrams(f, token);
    }
  }
  if (run) content.push(run);
  for (const r of content) cjkNgrams(f, r);
  if (f.size === 0) for (const r of norm.split(' ')) if (CJK.test(r)) cjkNgrams(f, r);
  return f;
}

/** Bigrams of the CJK characters of a run, and of their sounds; a lone character counts on its own. */
function cjkNgrams(f: Features, run: string): void {
  const chars = [...run].filter((c) => CJK.test(c));
  const sounds = pinyin(chars.join(''), { toneType: 'none', type: 'array' });
  for (let i = 0; i + 1 < chars.length; i++) {
    add(f, `b:${chars[i]}${chars[i + 1]}`);
    add(f, `p:${sounds[i]} ${sounds[i + 1]}`);
  }
  if (chars.length === 1) add(f, `b:${chars[0]}`);
}

function trigrams(f: Features, word: string): void {
  const padded = `#${word}#`;
  for (let i = 0; i + 3 <= padded.length; i++) add(f, `t:${padded.slice(i, i + 3)}`);
}
