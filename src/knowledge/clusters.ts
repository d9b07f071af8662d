/**
 * QA optimisation (product.md §4.7): unanswered questions grouped by similarity. Equal questions (after
 * normalisation) count together; the most asked one founds a group, and every other joins the most similar group
 * whose founder it resembles enough, or founds its own. Only groups sharing a feature with a question are compared
 * with it, and the most asked `MAX_PHRASINGS` phrasings are grouped, so a busy month stays a quick call.
 */
import { features, featureWeight, normalize, rarity, type Features } from './features';

export interface Cluster { center: string; count: number; questions: { question: string; count: number }[] }

/** Cosine similarity from which a question joins a group. */
const JOIN_AT = 0.5;
export const MAX_PHRASINGS = 5000;

export function clusterQuestions(questions: readonly string[]): Cluster[] {
  const counted = new Map<string, { question: string; count: number }>();
  for (const q of questions) {
    const key = normalize(q);
    if (!key) continue;
    const c = counted.get(key);
    if (c) c.count++;
    else counted.set(key, { question: q.trim(), count: 1 });
  }
  // Map order is first-asked order: the sort keeps it among equal counts.
  const phrases = [...counted.values()].sort((a, b) => b.count - a.count).slice(0, MAX_PHRASINGS);
  const vectors = tfidf(phrases.map((p) => features(p.question)));
  const clusters: (Cluster & { vector: Map<string, number> })[] = [];
  const byFeature = new Map<string, number[]>();
  phrases.forEach((p, i) => {
    let best: (typeof clusters)[number] | undefined;
    let bestScore = JOIN_AT;
    const candidates = new Set<number>();
    for (const k of vectors[i].keys()) for (const c of byFeature.get(k) ?? []) candidates.add(c);
    for (const c of [...candidates].sort((a, b) => a - b)) {
      const s = cosine(vectors[i], clusters[c].vector);
      if (s >= bestScore) { best = clusters[c]; bestScore = s; }
    }
    if (best) {
      best.count += p.count;
      best.questions.push(p);
      return;
    }
    for (const k of vectors[i].keys()) {
      const list = byFeature.get(k);
      if (list) list.push(clusters.length);
      else byFeature.set(k, [clusters.length]);
    }
    clusters.push({ center: p.question, count: p.count, questions: [p], vector: vectors[i] });
  });
  return clusters.sort((a, b) => b.count - a.count).map(({ center, count, questions: qs }) => ({ center, count, questions: qs }));
}

function tfidf(all: Features[]): Map<string, number>[] {
  const df = new Map<string, number>();
  for (const f of all) for (const k of f.keys()) df.set(k, (df.get(k) ?? 0) + 1);
  return all.map((f) => {
    const v = new Map<string, number>();
    for (const [k, tf] of f) v.set(k, featureWeight(k, tf, rarity(all.length, df.get(k)!)));
    return v;
  });
}

function cosine(a: Map<string, number>, b: Map<string, number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (const [k, w] of a) {
    na += w * w;
    const o = b.get(k);
    if (o !== undefined) dot += w * o;
  }
  for (const w of b.values()) nb += w * w;
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
