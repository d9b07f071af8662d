/**
 * Ranks the questions of one library against a user's question. Every standard question, each of its similar
 * questions, and all of its phrasings together are documents; a standard question scores as its best document.
 * The similarity is the cosine of TF-IDF vectors (sublinear term frequency) over `features`, 0–1, an identical
 * question scoring 1; the score reported is that similarity calibrated (see `calibrate`).
 */
import { features, weightOf, type Features } from './features';

export interface MatchDoc { questionId: string; text: string }
export interface Match { questionId: string; score: number; matched: string }

interface Indexed { questionId: string; text: string; norm: number }

export class Matcher {
  private readonly docs: Indexed[] = [];
  /** feature → postings of (document index, weight). */
  private readonly postings = new Map<string, { doc: number; w: number }[]>();
  private readonly idf = new Map<string, number>();

  /** `cache` keeps the features of texts across rebuilds (segmentation is the costly part). */
  constructor(phrasings: readonly MatchDoc[], cache: Map<string, Features> = new Map()) {
    const docs = withCombined(phrasings);
    const feats = docs.map((d) => {
      let f = cache.get(d.text);
      if (!f) cache.set(d.text, (f = features(d.text)));
      return f;
    });
    const df = new Map<string, number>();
    for (const f of feats) for (const k of f.keys()) df.set(k, (df.get(k) ?? 0) + 1);
    const n = docs.length;
    for (const [k, c] of df) this.idf.set(k, Math.log(1 + n / c));
    docs.forEach((d, i) => {
      let sq = 0;
      const weighted: [string, number][] = [];
      for (const [k, tf] of feats[i]) {
        const w = (1 + Math.log(tf)) * this.idf.get(k)! * weightOf(k);
        weighted.push([k, w]);
        sq += w * w;
      }
      if (sq === 0) return;
      const idx = this.docs.length;
      this.docs.push({ questionId: d.questionId, text: d.text, norm: Math.sqrt(sq) });
      for (const [k, w] of weighted) {
        let list = this.postings.get(k);
        if (!list) this.postings.set(k, (list = []));
        list.push({ doc: idx, w });
      }
    });
  }

  get size(): number {
    return this.docs.length;
  }

  /** The best `limit` standard questions for `text`, best first (ties: the earlier question). */
  rank(text: string, limit: number): Match[] {
    if (this.docs.length === 0 || limit <= 0) return [];
    const q = features(text);
    const dots = new Map<number, number>();
    let qsq = 0;
    for (const [k, tf] of q) {
      // A feature no document has still counts in the query's length: unknown words lower the score.
      const idf = this.idf.get(k) ?? Math.log(1 + this.docs.length);
      const w = (1 + Math.log(tf)) * idf * weightOf(k);
      qsq += w * w;
      const list = this.postings.get(k);
      if (!list) continue;
      for (const p of list) dots.set(p.doc, (dots.get(p.doc) ?? 0) + w * p.w);
    }
    if (qsq === 0) return [];
    const qnorm = Math.sqrt(qsq);
    const best = new Map<string, Match & { doc: number }>();
    for (const [doc, dot] of dots) {
      const d = this.docs[doc];
      const score = calibrate(Math.min(1, dot / (qnorm * d.norm)));
      const prev = best.get(d.questionId);
      if (!prev || score > prev.score) best.set(d.questionId, { questionId: d.questionId, score, matched: d.text, doc });
    }
    return [...best.values()]
      .sort((a, b) => b.score - a.score || a.doc - b.doc)
      .slice(0, limit)
      .map(({ questionId, score, matched }) => ({ questionId, score, matched }));
  }
}

/**
 * A paraphrase often shares words with several phrasings of a question and with none of them much: each question
 * with more than one phrasing also has them all as one document.
 */
function withCombined(docs: readonly MatchDoc[]): MatchDoc[] {
  const byQuestion = new Map<string, string[]>();
  for (const d of docs) {
    const list = byQuestion.get(d.questionId);
    if (list) list.push(d.text);
    else byQuestion.set(d.questionId, [d.text]);
  }
  const combined = [...byQuestion].filter(([, texts]) => texts.length > 1).map(([questionId, texts]) => ({ questionId, text: texts.join(' ') }));
  return [...docs, ...combined];
}

/**
 * Cosine similarity of word and n-gram vectors runs lower than a semantic model's for the same confidence; the
 * thresholds of the robot configuration (direct answer 0.8, clarification 0.6 by default) assume the latter. This
 * monotone map (ranking unchanged) puts a similarity of 0.5 at 0.8 and 0.25 at 0.6, where the labelled evaluation
 * set (test/fixtures/robot-eval.json) finds about nine in ten direct answers right.
 */
export function calibrate(similarity: number): number {
  if (similarity <= 0.25) return similarity * 2.4;
  if (similarity <= 0.5) return 0.6 + (similarity - 0.25) * 0.8;
  return 0.8 + (similarity - 0.5) * 0.4;
}
