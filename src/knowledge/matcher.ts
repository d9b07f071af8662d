/**
 * Ranks the questions of one library against a user's question. Every standard question, each of its similar
 * questions, and all of its phrasings together are documents; a standard question scores as its best document.
 * The similarity is the cosine of TF-IDF vectors (sublinear term frequency) over `features`, 0–1, an identical
 * question scoring 1; the score reported is that similarity calibrated (see `calibrate`).
 */
import { features, featureWeight, rarity, type Features } from './features';

/** `features`: the text's features when worked out already (they cost most of building an index). */
export interface MatchDoc { questionId: string; text: string; features?: Features }
/**
 * `lead`: how far the score must lead the runner-up's to answer directly (a match by meaning's margin); `words`: the
 * word score it replaced, which answers as before without a lead.
 */
export interface Match { questionId: string; score: number; matched: string; lead?: number; words?: number }

/** A match's fields about meaning (`lead`, `words`), for the ranked entry made of it. */
export const meaningOf = (m: Match): Pick<Match, 'lead' | 'words'> => ({ ...(m.lead !== undefined ? { lead: m.lead } : {}), ...(m.words !== undefined ? { words: m.words } : {}) });

/** Weights are kept in single precision: a similarity this close to 1 is an identical text. */
const SAME = 1 - 1e-6;

interface Postings { docs: Int32Array; w: Float32Array; idf: number }

export class Matcher {
  /** feature → the documents holding it, with its weight in each already divided by the document's length. */
  private readonly postings = new Map<string, Postings>();
  private readonly docQuestion: Int32Array;
  private readonly docText: string[] = [];
  private readonly questionIds: string[] = [];
  // Scratch space reused by every ranking (one at a time: JavaScript runs one to the end before the next).
  private readonly acc: Float64Array;
  private readonly touched: Int32Array;
  private readonly best: Float64Array;
  private readonly bestDoc: Int32Array;
  private readonly touchedQ: Int32Array;

  /**
   * `idfFrom`: weigh features as another matcher does, so that scores of the two compare (a small matcher of
   * questions changed since a large one was built ranks next to it).
   */
  constructor(phrasings: readonly MatchDoc[], private readonly idfFrom?: Matcher) {
    const docs = withCombined(phrasings);
    const feats = docs.map((d) => d.features ?? features(d.text));
    const idf = new Map<string, number>();
    if (idfFrom) {
      for (const f of feats) for (const k of f.keys()) idf.set(k, idfFrom.idfOf(k));
    } else {
      const df = new Map<string, number>();
      for (const f of feats) for (const k of f.keys()) df.set(k, (df.get(k) ?? 0) + 1);
      for (const [k, c] of df) idf.set(k, rarity(docs.length, c));
    }
    const lists = new Map<string, { docs: number[]; w: number[] }>();
    const questionIndex = new Map<string, number>();
    const docQuestion: number[] = [];
    docs.forEach((d, i) => {
      const weighted: [string, number][] = [];
      let sq = 0;
      for (const [k, tf] of feats[i]) {
        const w = featureWeight(k, tf, idf.get(k)!);
        weighted.push([k, w]);
        sq += w * w;
      }
      if (sq === 0) return;
      const norm = Math.sqrt(sq);
      const idx = this.docText.length;
      this.docText.push(d.text);
      let qi = questionIndex.get(d.questionId);
      if (qi === undefined) {
        questionIndex.set(d.questionId, (qi = this.questionIds.length));
        this.questionIds.push(d.questionId);
      }
      docQuestion.push(qi);
      for (const [k, w] of weighted) {
        let list = lists.get(k);
        if (!list) lists.set(k, (list = { docs: [], w: [] }));
        list.docs.push(idx);
        list.w.push(w / norm);
      }
    });
    for (const [k, list] of lists) this.postings.set(k, { docs: Int32Array.from(list.docs), w: Float32Array.from(list.w), idf: idf.get(k)! });
    this.docQuestion = Int32Array.from(docQuestion);
    this.acc = new Float64Array(this.docText.length);
    this.touched = new Int32Array(this.docText.length);
    this.best = new Float64Array(this.questionIds.length);
    this.bestDoc = new Int32Array(this.questionIds.length);
    this.touchedQ = new Int32Array(this.questionIds.length);
  }

  get size(): number {
    return this.docText.length;
  }

  get questions(): number {
    return this.questionIds.length;
  }

  /** A feature's weight here; one no document has weighs as the rarest (unknown words lower a score). */
  idfOf(feature: string): number {
    if (this.idfFrom) return this.idfFrom.idfOf(feature);
    return this.postings.get(feature)?.idf ?? rarity(this.docText.length, 1);
  }

  /** The best `limit` standard questions for `text`, best first (ties: the earlier question). */
  rank(text: string, limit: number): Match[] {
    return this.rankFeatures(features(text), limit);
  }

  /** `rank` for a question already turned into features; questions in `exclude` are left out. */
  rankFeatures(query: Features, limit: number, exclude?: ReadonlySet<string>): Match[] {
    const n = this.docText.length;
    if (n === 0 || limit <= 0) return [];
    const { acc, touched, best, bestDoc, touchedQ, docQuestion } = this;
    let qsq = 0;
    let nt = 0;
    for (const [k, tf] of query) {
      const p = this.postings.get(k);
      const w = featureWeight(k, tf, this.idfFrom ? this.idfFrom.idfOf(k) : p?.idf ?? rarity(n, 1));
      qsq += w * w;
      if (!p) continue;
      const docs = p.docs;
      const ws = p.w;
      for (let i = 0; i < docs.length; i++) {
        const d = docs[i];
        if (acc[d] === 0) touched[nt++] = d;
        acc[d] += w * ws[i];
      }
    }
    if (qsq === 0) return [];
    const qnorm = Math.sqrt(qsq);
    let nq = 0;
    for (let i = 0; i < nt; i++) {
      const d = touched[i];
      const s = acc[d] / qnorm;
      acc[d] = 0;
      const q = docQuestion[d];
      if (best[q] === 0) touchedQ[nq++] = q;
      if (s > best[q]) { best[q] = s; bestDoc[q] = d; }
    }
    // The top `limit` by score, then by question order, without sorting every candidate.
    const top: number[] = [];
    const before = (a: number, b: number): boolean => best[a] > best[b] || (best[a] === best[b] && a < b);
    for (let i = 0; i < nq; i++) {
      const q = touchedQ[i];
      if (top.length === limit && !before(q, top[top.length - 1])) continue;
      if (exclude?.has(this.questionIds[q])) continue;
      let at = top.length;
      while (at > 0 && before(q, top[at - 1])) at--;
      top.splice(at, 0, q);
      if (top.length > limit) top.pop();
    }
    const out = top.map((q) => ({ questionId: this.questionIds[q], score: calibrate(best[q] > SAME ? 1 : best[q]), matched: this.docText[bestDoc[q]] }));
    for (let i = 0; i < nq; i++) best[touchedQ[i]] = 0;
    return out;
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
