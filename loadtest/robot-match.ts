/**
 * `npm run bench:robot [-- --questions N --queries N --json]`: how long the robot takes to rank a user's question
 * against a large library (product.md §4.3). A library of N standard questions (default 10,000, two similar
 * questions each, Chinese and English) is generated from templates with a fixed seed; the queries are the labelled
 * evaluation questions, repeated. The baseline, measured in the same run, is turning the same query into features
 * (segmentation, stems, n-grams), which any matcher must do; the ratio says what the ranking itself adds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { features } from '../src/knowledge/features';
import { Matcher, type MatchDoc } from '../src/knowledge/matcher';
import { rng } from '../test/helpers/rng';
import type { EvalSet } from '../src/knowledge/evaluate';

const zh = {
  subjects: ['订单', '快递', '退款', '发票', '会员', '积分', '优惠券', '账号', '密码', '手机号', '地址', '包裹', '商品', '售后', '保修', '门店', '礼品卡', '订阅', '套餐', '支付'],
  verbs: ['修改', '取消', '查询', '申请', '开通', '关闭', '绑定', '解绑', '删除', '恢复', '升级', '续费', '兑换', '领取', '退回', '补寄'],
  forms: ['怎么{v}{s}', '{s}可以{v}吗', '为什么不能{v}{s}', '{s}{v}失败怎么办', '在哪里{v}{s}', '{v}{s}需要多久', '{s}{v}后多久生效', '{v}{s}要收费吗'],
};
const en = {
  subjects: ['order', 'parcel', 'refund', 'invoice', 'membership', 'points', 'coupon', 'account', 'password', 'phone number', 'address', 'item', 'warranty', 'store', 'gift card', 'subscription', 'plan', 'payment', 'receipt', 'return label'],
  verbs: ['change', 'cancel', 'track', 'request', 'activate', 'close', 'link', 'unlink', 'delete', 'restore', 'upgrade', 'renew', 'redeem', 'claim', 'send back', 'resend'],
  forms: ['How do I {v} my {s}?', 'Can I {v} the {s}?', 'Why can\'t I {v} my {s}?', 'What if {v} {s} fails?', 'Where can I {v} a {s}?', 'How long does it take to {v} the {s}?', 'Is there a fee to {v} my {s}?', 'When does {v} the {s} take effect?'],
};

/** N standard questions, each with two similar ones, half Chinese, half English. */
export function library(n: number, seed = 7): MatchDoc[] {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const docs: MatchDoc[] = [];
  for (let i = 0; i < n; i++) {
    const lang = i % 2 === 0 ? zh : en;
    const id = `q${i}`;
    for (let k = 0; k < 3; k++) {
      // A number keeps the questions distinct, as product names and models do in a real library.
      const text = pick(lang.forms).replace('{v}', pick(lang.verbs)).replace('{s}', `${pick(lang.subjects)}${k === 0 ? ` ${i}` : ''}`);
      docs.push({ questionId: id, text });
    }
  }
  return docs;
}

function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: 3 });
}

export interface RobotMatchResult {
  questions: number;
  documents: number;
  queries: number;
  buildMs: number;
  rank: { p50us: number; p99us: number; maxus: number };
  features: { p50us: number; p99us: number };
  ratioP99: number;
}

export function runRobotMatch(questions: number, queries: number, evalSet: EvalSet): RobotMatchResult {
  const docs = library(questions);
  const t0 = performance.now();
  const matcher = new Matcher(docs);
  const buildMs = performance.now() - t0;
  const texts = evalSet.cases.map((c) => c.q);
  const rankH = histogram();
  const featH = histogram();
  // Warm up both paths (the segmenter's dictionary loads on first use).
  for (let i = 0; i < 200; i++) { matcher.rank(texts[i % texts.length], 5); features(texts[i % texts.length]); }
  for (let i = 0; i < queries; i++) {
    const q = texts[i % texts.length];
    let s = process.hrtime.bigint();
    features(q);
    featH.recordValue(Number(process.hrtime.bigint() - s));
    s = process.hrtime.bigint();
    matcher.rank(q, 5);
    rankH.recordValue(Number(process.hrtime.bigint() - s));
  }
  const us = (h: hdr.Histogram, p: number) => Math.round(h.getValueAtPercentile(p) / 100) / 10;
  return {
    questions, documents: matcher.size, queries, buildMs: Math.round(buildMs),
    rank: { p50us: us(rankH, 50), p99us: us(rankH, 99), maxus: Math.round(rankH.maxValue / 1000) },
    features: { p50us: us(featH, 50), p99us: us(featH, 99) },
    ratioP99: Math.round((rankH.getValueAtPercentile(99) / featH.getValueAtPercentile(99)) * 10) / 10,
  };
}

if (require.main === module) {
  const { values } = parseArgs({ options: { questions: { type: 'string' }, queries: { type: 'string' }, json: { type: 'boolean' } } });
  const set = JSON.parse(fs.readFileSync(path.join(__dirname, '../../test/fixtures/robot-eval.json'), 'utf8')) as EvalSet;
  const r = runRobotMatch(Number(values.questions ?? 10_000), Number(values.queries ?? 5_000), set);
  if (values.json) process.stdout.write(`${JSON.stringify({ scenario: 'robot-match', date: new Date().toISOString(), ...r })}\n`);
  else {
    process.stdout.write([
      `robot-match: ${r.questions} standard questions (${r.documents} documents), index built in ${r.buildMs} ms`,
      `rank one question, ${r.queries} queries: p50 ${r.rank.p50us} µs, p99 ${r.rank.p99us} µs, max ${r.rank.maxus} µs`,
      `baseline (features of the query alone): p50 ${r.features.p50us} µs, p99 ${r.features.p99us} µs`,
      `ratio at p99: ${r.ratioP99}× the baseline`,
    ].join('\n') + '\n');
  }
}
