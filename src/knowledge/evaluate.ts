/**
 * Measures the robot's answers on a labelled set (test/fixtures/robot-eval.json): for each question, the strategy
 * the robot takes with the given thresholds and whether its answer is the expected one.
 *
 *   node dist/src/knowledge/evaluate.js [fixture] [--direct 0.8] [--chitchat 0.8] [--clarify 0.6] [--json]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decideReply, type RobotReply } from '../../actors/robot';
import type { KnowledgeLibrary, RankedQuestion } from '../../actors/types';
import { defaultRobotConfig, type RobotConfig } from '../../protocol/app-model';
import { Matcher } from './matcher';

interface Entry { id: string; question: string; similar: string[]; answer: string }
export interface EvalSet {
  knowledge: Record<string, { faqs: Entry[]; chitchat: Entry[] }>;
  cases: { lang: string; q: string; expect: string | null; kind: string }[];
}

export interface EvalResult {
  cases: number;
  /** Questions with an FAQ or chitchat answer that got exactly it as a direct (or chitchat) answer. */
  correct: number;
  /** Questions that got a direct or chitchat answer that was not the expected one (any answer, for off-topic ones). */
  falseAnswers: number;
  clarified: number;
  /** Clarifications listing the expected question. */
  clarifiedWithExpected: number;
  fellBack: number;
  /** Off-topic questions, and how many of them fell back. */
  offTopic: number;
  offTopicFellBack: number;
  byKind: Record<string, { cases: number; correct: number; falseAnswers: number; clarified: number }>;
}

export function evaluate(set: EvalSet, config: RobotConfig): EvalResult {
  const matchers = new Map<string, { faq: Matcher; chitchat: Matcher; entries: Map<string, Entry> }>();
  for (const [lang, k] of Object.entries(set.knowledge)) {
    const docs = (list: Entry[]) => list.flatMap((e) => [e.question, ...e.similar].map((text) => ({ questionId: e.id, text })));
    matchers.set(lang, { faq: new Matcher(docs(k.faqs)), chitchat: new Matcher(docs(k.chitchat)), entries: new Map([...k.faqs, ...k.chitchat].map((e) => [e.id, e])) });
  }
  const r: EvalResult = { cases: 0, correct: 0, falseAnswers: 0, clarified: 0, clarifiedWithExpected: 0, fellBack: 0, offTopic: 0, offTopicFellBack: 0, byKind: {} };
  for (const c of set.cases) {
    const m = matchers.get(c.lang)!;
    const rank = (library: KnowledgeLibrary, limit: number): RankedQuestion[] => (library === 'faq' || library === 'chitchat' ? m[library].rank(c.q, limit) : []).map((hit) => {
      const e = m.entries.get(hit.questionId)!;
      return { id: e.id, question: e.question, answer: e.answer, answerType: 0, score: hit.score, matched: hit.matched };
    });
    const reply: RobotReply = decideReply(config, rank);
    const kind = (r.byKind[c.kind] ??= { cases: 0, correct: 0, falseAnswers: 0, clarified: 0 });
    r.cases++;
    kind.cases++;
    if (c.expect === null) r.offTopic++;
    switch (reply.strategy) {
      case 'direct':
      case 'chitchat':
        if (reply.question.id === c.expect) { r.correct++; kind.correct++; } else { r.falseAnswers++; kind.falseAnswers++; }
        break;
      case 'clarify':
        r.clarified++;
        kind.clarified++;
        if (reply.candidates.some((q) => q.id === c.expect)) r.clarifiedWithExpected++;
        break;
      case 'fallback':
        r.fellBack++;
        if (c.expect === null) r.offTopicFellBack++;
        break;
    }
  }
  return r;
}

const pct = (n: number, d: number): string => (d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`);

export function report(r: EvalResult): string {
  const answerable = r.cases - r.offTopic;
  const lines = [
    `${r.cases} questions (${answerable} answerable, ${r.offTopic} off-topic)`,
    `direct-answer accuracy: ${pct(r.correct, answerable)} of answerable questions answered with the expected entry`,
    `clarification rate:     ${pct(r.clarified, r.cases)} of all questions (the expected entry offered in ${pct(r.clarifiedWithExpected, r.clarified)} of them)`,
    `false-answer rate:      ${pct(r.falseAnswers, r.cases)} of all questions got a wrong answer`,
    `fallback:               ${pct(r.fellBack, r.cases)} of all questions; off-topic questions fell back ${pct(r.offTopicFellBack, r.offTopic)}`,
    'by kind (correct / false / clarified):',
    ...Object.entries(r.byKind).map(([k, v]) => `  ${k.padEnd(11)} ${String(v.cases).padStart(4)}  ${pct(v.correct, v.cases).padStart(6)} ${pct(v.falseAnswers, v.cases).padStart(6)} ${pct(v.clarified, v.cases).padStart(6)}`),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { direct: { type: 'string' }, chitchat: { type: 'string' }, clarify: { type: 'string' }, json: { type: 'boolean' } },
  });
  const file = positionals[0] ?? path.join(__dirname, '../../../test/fixtures/robot-eval.json');
  const set = JSON.parse(fs.readFileSync(file, 'utf8')) as EvalSet;
  const config: RobotConfig = {
    ...defaultRobotConfig, chitchatEnable: true, clarifyEnable: true,
    directAnsweringReaches: Number(values.direct ?? defaultRobotConfig.directAnsweringReaches),
    chitchatReaches: Number(values.chitchat ?? defaultRobotConfig.chitchatReaches),
    clarifyReaches: Number(values.clarify ?? defaultRobotConfig.clarifyReaches),
  };
  const result = evaluate(set, config);
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${report(result)}\n`);
}
