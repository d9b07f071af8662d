/**
 * Measures document QA on a labelled set (test/fixtures/doc-qa.json): documents, questions whose answer holds a fact
 * from them, and questions they do not answer. A question is answered when its best passage scores at least the
 * threshold; the answer is right when the passage holds the fact, and false when it does not or the question was
 * out of scope (an answer there would be made up from an unrelated passage).
 *
 *   node dist/src/knowledge/evaluate-documents.js [fixture] [--threshold 0.75] [--json]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DOCUMENT_ANSWER_SCORE } from '../../actors/robot';
import { formatOfName } from './document-text';
import { passagesOf, plainMarkdown } from './documents';
import { Matcher } from './matcher';

export interface DocQaSet { documents: { name: string; content: string }[]; cases: { q: string; fact: string | null }[] }
export interface DocQaResult { answerable: number; right: number; outOfScope: number; fellBack: number; falseAnswers: number; misses: string[]; outOfScopeBest: number[] }

export function evaluateDocuments(set: DocQaSet, threshold = DOCUMENT_ANSWER_SCORE): DocQaResult {
  const passages = set.documents.flatMap((d) => passagesOf(formatOfName(d.name) === 'md' ? plainMarkdown(d.content) : d.content));
  const matcher = new Matcher(passages.map((text, i) => ({ questionId: String(i), text })));
  const r: DocQaResult = { answerable: 0, right: 0, outOfScope: 0, fellBack: 0, falseAnswers: 0, misses: [], outOfScopeBest: [] };
  for (const c of set.cases) {
    const best = matcher.rank(c.q, 1)[0];
    const answer = best && best.score >= threshold ? passages[Number(best.questionId)]! : undefined;
    if (c.fact === null) {
      r.outOfScope++;
      r.outOfScopeBest.push(best ? Math.round(best.score * 100) / 100 : 0);
      if (answer === undefined) r.fellBack++;
      else r.falseAnswers++;
      continue;
    }
    r.answerable++;
    if (answer?.includes(c.fact)) r.right++;
    else {
      if (answer !== undefined) r.falseAnswers++;
      r.misses.push(`${c.q} (${best ? best.score.toFixed(2) : '-'})`);
    }
  }
  return r;
}

if (require.main === module) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { threshold: { type: 'string' }, json: { type: 'boolean' } } });
  const file = positionals[0] ?? path.resolve(__dirname, '../../../test/fixtures/doc-qa.json');
  const r = evaluateDocuments(JSON.parse(fs.readFileSync(file, 'utf8')) as DocQaSet, values.threshold ? Number(values.threshold) : undefined);
  const pct = (n: number, d: number) => `${((100 * n) / Math.max(1, d)).toFixed(1)}%`;
  if (values.json) console.log(JSON.stringify(r));
  else {
    console.log(`answered with the fact: ${r.right} of ${r.answerable} answerable (${pct(r.right, r.answerable)})`);
    console.log(`false answers: ${r.falseAnswers} of ${r.answerable + r.outOfScope} questions (${pct(r.falseAnswers, r.answerable + r.outOfScope)})`);
    console.log(`out of scope that fell back: ${r.fellBack} of ${r.outOfScope}`);
    if (r.misses.length) console.log(`missed: ${r.misses.join('; ')}`);
    console.log(`out-of-scope best scores: ${r.outOfScopeBest.join(', ')}`);
  }
}
