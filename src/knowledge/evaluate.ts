/**
 * Measures the robot's answers on a labelled set (test/fixtures/robot-eval.json): for each question, the strategy
 * the robot takes with the given thresholds and whether its answer is the expected one.
 *
 *   node dist/src/knowledge/evaluate.js [fixture] [--direct 0.8] [--chitchat 0.8] [--clarify 0.6] [--json]
 *     [--embeddings <baseUrl> --model <name> [--api-key <key>] [--score-from 0.5] [--score-to 0.9] [--margin 0.05]]
 *
 * With `--embeddings` the questions are also matched by meaning, as the server does with an app's `embeddings`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decideReply, type RobotReply } from '../../actors/robot';
import type { KnowledgeLibrary, RankedQuestion } from '../../actors/types';
import { defaultEmbeddingSettings, defaultRobotConfig, type EmbeddingSettings, type RobotConfig } from '../../protocol/app-model';
import { EMBED_BATCH, OpenAiEmbedder } from './embedder';
import { Matcher, meaningOf } from './matcher';
import { blendByMeaning } from './semantic';

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
  byKind: Record<string, Tally>;
  byLanguage: Record<string, Tally>;
}
interface Tally { cases: number; correct: number; falseAnswers: number; clarified: number }

/** Matching by meaning: the vectors of the set's texts, and the cosine band of the scores. */
export interface Meaning { vectorOf(text: string): Float32Array | undefined; settings: Pick<EmbeddingSettings, 'scoreFrom' | 'scoreTo' | 'margin'> }

const phrasingsOf = (e: Entry): string[] => [e.question, ...e.similar];

export function evaluate(set: EvalSet, config: RobotConfig, meaning?: Meaning): EvalResult {
  type Lang = { faq: Matcher; chitchat: Matcher; lists: Record<'faq' | 'chitchat', Entry[]>; entries: Map<string, Entry> };
  const matchers = new Map<string, Lang>();
  for (const [lang, k] of Object.entries(set.knowledge)) {
    const docs = (list: Entry[]) => list.flatMap((e) => phrasingsOf(e).map((text) => ({ questionId: e.id, text })));
    matchers.set(lang, { faq: new Matcher(docs(k.faqs)), chitchat: new Matcher(docs(k.chitchat)), lists: { faq: k.faqs, chitchat: k.chitchat }, entries: new Map([...k.faqs, ...k.chitchat].map((e) => [e.id, e])) });
  }
  const r: EvalResult = { cases: 0, correct: 0, falseAnswers: 0, clarified: 0, clarifiedWithExpected: 0, fellBack: 0, offTopic: 0, offTopicFellBack: 0, byKind: {}, byLanguage: {} };
  for (const c of set.cases) {
    const m = matchers.get(c.lang)!;
    const query = meaning?.vectorOf(c.q);
    const hitsOf = (library: 'faq' | 'chitchat', limit: number) => {
      const hits = m[library].rank(c.q, limit);
      if (!query) return hits;
      return blendByMeaning(hits, m.lists[library].map((e) => ({ id: e.id, phrasings: phrasingsOf(e) })), query, meaning!.vectorOf, meaning!.settings)
        .sort((a, b) => b.score - a.score).slice(0, limit);
    };
    const rank = (library: KnowledgeLibrary, limit: number): RankedQuestion[] => (library === 'faq' || library === 'chitchat' ? hitsOf(library, limit) : []).map((hit) => {
      const e = m.entries.get(hit.questionId)!;
      return { id: e.id, question: e.question, answer: e.answer, answerType: 0, score: hit.score, matched: hit.matched, ...meaningOf(hit) };
    });
    const reply: RobotReply = decideReply(config, rank);
    const tallies = [(r.byKind[c.kind] ??= { cases: 0, correct: 0, falseAnswers: 0, clarified: 0 }), (r.byLanguage[c.lang] ??= { cases: 0, correct: 0, falseAnswers: 0, clarified: 0 })];
    const count = (key: keyof Tally) => { for (const x of tallies) x[key]++; };
    r.cases++;
    count('cases');
    if (c.expect === null) r.offTopic++;
    switch (reply.strategy) {
      case 'direct':
      case 'chitchat':
        if (reply.question.id === c.expect) { r.correct++; count('correct'); } else { r.falseAnswers++; count('falseAnswers'); }
        break;
      case 'clarify':
        r.clarified++;
        count('clarified');
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
const tallyLines = (t: Record<string, Tally>): string[] =>
  Object.entries(t).map(([k, v]) => `  ${k.padEnd(11)} ${String(v.cases).padStart(4)}  ${pct(v.correct, v.cases).padStart(6)} ${pct(v.falseAnswers, v.cases).padStart(6)} ${pct(v.clarified, v.cases).padStart(6)}`);

/** The vectors of every phrasing and question of the set, from an embeddings server. */
async function embeddedSet(set: EvalSet, s: EmbeddingSettings): Promise<Meaning> {
  const texts = [...new Set([
    ...Object.values(set.knowledge).flatMap((k) => [...k.faqs, ...k.chitchat].flatMap(phrasingsOf)),
    ...set.cases.map((c) => c.q),
  ])];
  const embedder = new OpenAiEmbedder(s);
  const vectors = new Map<string, Float32Array>();
  for (let i = 0; i < texts.length; i += EMBED_BATCH) {
    const batch = texts.slice(i, i + EMBED_BATCH);
    (await embedder.embed(batch)).forEach((v, j) => vectors.set(batch[j]!, v));
  }
  return { vectorOf: (t) => vectors.get(t), settings: s };
}

export function report(r: EvalResult): string {
  const answerable = r.cases - r.offTopic;
  const lines = [
    `${r.cases} questions (${answerable} answerable, ${r.offTopic} off-topic)`,
    `direct-answer accuracy: ${pct(r.correct, answerable)} of answerable questions answered with the expected entry`,
    `clarification rate:     ${pct(r.clarified, r.cases)} of all questions (the expected entry offered in ${pct(r.clarifiedWithExpected, r.clarified)} of them)`,
    `false-answer rate:      ${pct(r.falseAnswers, r.cases)} of all questions got a wrong answer`,
    `fallback:               ${pct(r.fellBack, r.cases)} of all questions; off-topic questions fell back ${pct(r.offTopicFellBack, r.offTopic)}`,
    'by kind (correct / false / clarified):',
    ...tallyLines(r.byKind),
    'by language (correct / false / clarified):',
    ...tallyLines(r.byLanguage),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      direct: { type: 'string' }, chitchat: { type: 'string' }, clarify: { type: 'string' }, json: { type: 'boolean' },
      embeddings: { type: 'string' }, model: { type: 'string' }, 'api-key': { type: 'string' }, 'score-from': { type: 'string' }, 'score-to': { type: 'string' }, margin: { type: 'string' },
    },
  });
  const file = positionals[0] ?? path.join(__dirname, '../../../test/fixtures/robot-eval.json');
  const set = JSON.parse(fs.readFileSync(file, 'utf8')) as EvalSet;
  const config: RobotConfig = {
    ...defaultRobotConfig, chitchatEnable: true, clarifyEnable: true,
    directAnsweringReaches: Number(values.direct ?? defaultRobotConfig.directAnsweringReaches),
    chitchatReaches: Number(values.chitchat ?? defaultRobotConfig.chitchatReaches),
    clarifyReaches: Number(values.clarify ?? defaultRobotConfig.clarifyReaches),
  };
  const meaning = values.embeddings ? embeddedSet(set, {
    ...defaultEmbeddingSettings, baseUrl: values.embeddings, model: values.model ?? '', apiKey: values['api-key'], timeoutMs: 30_000,
    scoreFrom: Number(values['score-from'] ?? defaultEmbeddingSettings.scoreFrom), scoreTo: Number(values['score-to'] ?? defaultEmbeddingSettings.scoreTo),
    margin: Number(values.margin ?? defaultEmbeddingSettings.margin),
  }) : Promise.resolve(undefined);
  meaning.then((m) => {
    const result = evaluate(set, config, m);
    process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${report(result)}\n`);
  }, (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
