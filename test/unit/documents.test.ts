/**
 * Document QA without a model: passages cut by section and sentence, and the labelled set (test/fixtures/doc-qa.json)
 * answered at the default threshold with the fact, and never for a question the documents do not answer.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { DOCUMENT_ANSWER_SCORE } from '../../actors/robot';
import { passagesOf, plainMarkdown } from '../../src/knowledge/documents';
import { evaluateDocuments, type DocQaSet } from '../../src/knowledge/evaluate-documents';

t.test('passages: each led by its section title, cut after a sentence end, markdown as read', async (t) => {
  const md = '# 退货\n\n商品签收后 **7 天内**可退货。[详情](https://x.example)\n\n![图](a.png)\n\n## Shipping\n\nOrders ship the same day. Standard delivery takes 3 to 5 days.';
  t.same(passagesOf(plainMarkdown(md)), ['退货: 商品签收后 7 天内可退货。详情', 'Shipping: Orders ship the same day. Standard delivery takes 3 to 5 days.']);
  const long = Array.from({ length: 12 }, (_, i) => `这是第${i + 1}句比较长的说明文字，用来把段落撑长。`).join('');
  const cut = passagesOf(long);
  t.ok(cut.length > 1, 'a long paragraph is cut');
  t.ok(cut.every((p) => /。$/.test(p)), 'at sentence ends');
  t.equal(cut.join(''), long, 'nothing lost');
  t.same(passagesOf('Price is 3.5 yuan. Next sentence.'), ['Price is 3.5 yuan. Next sentence.'], 'a decimal point is not a sentence end');
  t.same(passagesOf('会员权益\n\n金卡会员每月可领取 2 张免运费券。'), ['会员权益: 金卡会员每月可领取 2 张免运费券。'], 'a short line alone is a title (Word, PDF, text)');
});

t.test('the labelled set at the default threshold', async (t) => {
  const set = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../test/fixtures/doc-qa.json'), 'utf8')) as DocQaSet;
  const r = evaluateDocuments(set, DOCUMENT_ANSWER_SCORE);
  t.equal(r.answerable, 20);
  t.equal(r.outOfScope, 15);
  t.ok(r.right / r.answerable >= 0.6, `answered with the fact: ${r.right} of ${r.answerable}`);
  t.equal(r.falseAnswers, 0, 'no answer without its fact, none to a question the documents do not answer');
});
