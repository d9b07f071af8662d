/**
 * Matching by meaning: per app with `embeddings` configured, the vectors of FAQ phrasings and of questions, worked
 * out by the app's embedder in the background and kept in memory. A question's vector is asked for before the
 * robot answers it (the session waits at most `timeoutMs`); the phrasings' vectors as soon as a ranking finds them
 * missing. The knowledge base blends the calibrated cosine with its word score (`blend`).
 */
import type { Logger } from 'pino';
import type { AppModel, EmbeddingSettings } from '../../protocol/app-model';
import { dot, EMBED_BATCH, OpenAiEmbedder, type Embedder } from './embedder';
import type { Match } from './matcher';

/**
 * Phrasing vectors kept per app; each ranking compares the question with every phrasing of its library. Past it,
 * phrasings no ranking used for STALE_MS (edited or deleted FAQs, a robot or language nobody asks) make room; if none
 * did, further phrasings are matched by words only (evicting ones in use would have them asked for at every question).
 */
export const MAX_PHRASINGS = 5000;
const STALE_MS = 10 * 60_000;
/** Question vectors kept per app (recent questions); the oldest go first. */
const MAX_QUESTIONS = 1000;
/** After a failed request, the embedder is left alone this long (questions are answered by words meanwhile). */
const BACKOFF_MS = 30_000;

interface AppVectors {
  /** The settings the vectors were made with: other settings (another model) start afresh. */
  key: string;
  embedder: Embedder;
  /** Vectors of phrasings, and when a ranking last used each. */
  phrasings: Map<string, { v: Float32Array; usedAt: number }>;
  questions: Map<string, Float32Array>;
  wanted: Set<string>;
  /** The phrasings outgrew MAX_PHRASINGS (said once in the log). */
  full?: boolean;
  /** The background batches under way, if any. */
  draining?: Promise<void>;
  failedAt?: number;
}

export interface SemanticDeps {
  app(sdkAppId: number): AppModel | undefined;
  log: Logger;
  now(): number;
  /** The embedder of a configuration (tests put a fake here). */
  embedderFor?(s: EmbeddingSettings): Embedder;
}

export class SemanticVectors {
  private readonly apps = new Map<number, AppVectors>();
  private stopped = false;

  constructor(private readonly deps: SemanticDeps) {}

  /** The app's settings, when it matches by meaning. */
  settingsOf(app: number): EmbeddingSettings | undefined {
    return this.deps.app(app)?.embeddings;
  }

  vectorOf(app: number, text: string): Float32Array | undefined {
    const a = this.current(app);
    if (!a) return undefined;
    const p = a.phrasings.get(text);
    if (!p) return a.questions.get(text);
    p.usedAt = this.deps.now();
    return p.v;
  }

  /** True when a question of this app should wait for its vector: matching by meaning is on, working, and it has none. */
  awaits(app: number, text: string): boolean {
    const a = this.current(app);
    return !!a && !this.resting(a) && !a.phrasings.has(text) && !a.questions.has(text);
  }

  /** Vectors for texts that have none yet, worked out in batches in the background. */
  want(app: number, texts: Iterable<string>): void {
    const a = this.current(app);
    if (!a || this.resting(a)) return;
    for (const s of texts) {
      if (a.phrasings.has(s) || a.wanted.has(s)) continue;
      if (a.phrasings.size + a.wanted.size >= MAX_PHRASINGS && !this.madeRoom(a)) {
        if (!a.full) this.deps.log.warn({ app, max: MAX_PHRASINGS }, 'more FAQ phrasings in use than are matched by meaning; the rest are matched by words');
        a.full = true;
        break;
      }
      a.wanted.add(s);
    }
    if (a.wanted.size > 0 && !a.draining) a.draining = this.drain(app, a).finally(() => { a.draining = undefined; });
  }

  /**
   * The question's vector, and the phrasings' asked for meanwhile, waited for at most the app's `timeoutMs`; false
   * when the question's could not be had.
   */
  async query(app: number, text: string): Promise<boolean> {
    const a = this.current(app);
    if (!a) return false;
    if (a.phrasings.has(text) || a.questions.has(text)) return true;
    if (this.resting(a)) return false;
    const timeoutMs = this.settingsOf(app)!.timeoutMs;
    const until = Date.now() + timeoutMs;
    try {
      const [v] = await a.embedder.embed([text], AbortSignal.timeout(timeoutMs));
      a.questions.set(text, v!);
      if (a.questions.size > MAX_QUESTIONS) a.questions.delete(a.questions.keys().next().value!);
    } catch (err) {
      this.failed(app, a, err);
      return false;
    }
    if (a.draining) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([a.draining, new Promise((resolve) => { timer = setTimeout(resolve, Math.max(0, until - Date.now())); })]);
      clearTimeout(timer);
    }
    return true;
  }

  stop(): void {
    this.stopped = true;
  }

  private current(app: number): AppVectors | undefined {
    const s = this.settingsOf(app);
    if (!s || this.stopped) return undefined;
    const key = `${s.baseUrl}|${s.model}|${s.apiKey ?? ''}`;
    let a = this.apps.get(app);
    if (!a || a.key !== key) {
      a = { key, embedder: this.deps.embedderFor?.(s) ?? new OpenAiEmbedder(s), phrasings: new Map(), questions: new Map(), wanted: new Set() };
      this.apps.set(app, a);
    }
    return a;
  }

  /** Drops the phrasings no ranking used for STALE_MS; true when that made room. */
  private madeRoom(a: AppVectors): boolean {
    const before = this.deps.now() - STALE_MS;
    for (const [text, p] of a.phrasings) if (p.usedAt < before) a.phrasings.delete(text);
    const room = a.phrasings.size + a.wanted.size < MAX_PHRASINGS;
    if (room) a.full = false;
    return room;
  }

  private resting(a: AppVectors): boolean {
    return a.failedAt !== undefined && this.deps.now() - a.failedAt < BACKOFF_MS;
  }

  private failed(app: number, a: AppVectors, err: unknown): void {
    if (!this.resting(a)) this.deps.log.warn({ app, err: (err as Error).message }, `embeddings failed; questions are matched by words for ${BACKOFF_MS / 1000} s`);
    a.failedAt = this.deps.now();
  }

  private async drain(app: number, a: AppVectors): Promise<void> {
    try {
      while (a.wanted.size > 0 && !this.stopped && this.apps.get(app) === a) {
        const batch = [...a.wanted].slice(0, EMBED_BATCH);
        for (const s of batch) a.wanted.delete(s);
        const vs = await a.embedder.embed(batch);
        const now = this.deps.now();
        batch.forEach((s, i) => a.phrasings.set(s, { v: vs[i]!, usedAt: now }));
      }
    } catch (err) {
      a.wanted.clear();
      this.failed(app, a, err);
    }
  }
}

/** A cosine as a robot score: `scoreFrom` and below is 0, `scoreTo` and above is 1, linear between. */
export function calibrated(cos: number, s: Pick<EmbeddingSettings, 'scoreFrom' | 'scoreTo'>): number {
  return Math.max(0, Math.min(1, (cos - s.scoreFrom) / (s.scoreTo - s.scoreFrom)));
}

/**
 * Word scores blended with meaning: each question scores the better of its word score and its calibrated cosine
 * (its closest phrasing with a vector). A paraphrase that shares no word is found; a question the words match well
 * keeps its score. A question that scores by meaning answers directly only with `margin` over the runner-up: close
 * meanings are many, and a near tie is a guess.
 */
export function blendByMeaning(
  hits: readonly Match[], questions: readonly { id: string; phrasings: readonly string[] }[], query: Float32Array,
  vectorOf: (s: string) => Float32Array | undefined, s: Pick<EmbeddingSettings, 'scoreFrom' | 'scoreTo' | 'margin'>,
): Match[] {
  const byId = new Map(hits.map((h) => [h.questionId, h]));
  for (const q of questions) {
    const near = closest(query, q.phrasings, vectorOf);
    if (!near) continue;
    const score = calibrated(near.cos, s);
    const words = byId.get(q.id)?.score ?? 0;
    if (score > words) byId.set(q.id, { questionId: q.id, score, matched: near.matched, lead: s.margin, ...(words > 0 ? { words } : {}) });
  }
  return [...byId.values()];
}

/** Word matches blended with meaning, over the candidates (each with its phrasings) a library has. */
export type Blend = (hits: Match[], candidates: readonly { id: string; phrasings: readonly string[] }[]) => Match[];

/** A question's best cosine over its phrasings' vectors (those known), and the phrasing. */
export function closest(query: Float32Array, phrasings: readonly string[], vectorOf: (s: string) => Float32Array | undefined): { cos: number; matched: string } | undefined {
  let best: { cos: number; matched: string } | undefined;
  for (const p of phrasings) {
    const v = vectorOf(p);
    if (!v) continue;
    const cos = dot(query, v);
    if (!best || cos > best.cos) best = { cos, matched: p };
  }
  return best;
}
