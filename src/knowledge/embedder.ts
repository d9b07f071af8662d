/**
 * Embedders: what turns texts into vectors whose cosine says how close their meanings are. The robot blends that
 * closeness with its word-based score (src/knowledge/semantic.ts). One kind is served: an OpenAI-compatible
 * `/embeddings` endpoint (a hosted model, or a local server such as text-embeddings-inference or llama.cpp).
 */
import type { EmbeddingSettings } from '../../protocol/app-model';

export interface Embedder {
  /** Vectors of `texts`, in order, all of one length. Rejects on any failure. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** Texts per request. */
export const EMBED_BATCH = 64;
/** Characters of a text sent (a question or a phrasing is short; this bounds a pasted essay). */
const MAX_TEXT = 2000;

/** `POST <baseUrl>/embeddings` with `{ model, input: [...] }`; the answer's `data[i].embedding` by `index`. */
export class OpenAiEmbedder implements Embedder {
  constructor(private readonly s: Pick<EmbeddingSettings, 'baseUrl' | 'model' | 'apiKey' | 'timeoutMs'>) {}

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const res = await fetch(`${this.s.baseUrl.replace(/\/+$/, '')}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.s.apiKey ? { authorization: `Bearer ${this.s.apiKey}` } : {}) },
      body: JSON.stringify({ model: this.s.model, input: texts.map((t) => t.slice(0, MAX_TEXT)) }),
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(this.s.timeoutMs * 4)]) : AbortSignal.timeout(this.s.timeoutMs * 4),
    });
    if (!res.ok) throw new Error(`embeddings: HTTP ${res.status}`);
    return vectorsOf(await res.json(), texts.length);
  }
}

/** The vectors of an embeddings answer, checked: one per text, finite numbers, one length. */
export function vectorsOf(answer: unknown, count: number): Float32Array[] {
  const data = (answer as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length !== count) throw new Error(`embeddings: expected ${count} vectors`);
  const out: Float32Array[] = new Array(count);
  let dims = -1;
  data.forEach((d: { index?: unknown; embedding?: unknown }, i) => {
    const at = typeof d?.index === 'number' && Number.isInteger(d.index) && d.index >= 0 && d.index < count ? d.index : i;
    const e = d?.embedding;
    if (!Array.isArray(e) || e.length === 0 || e.length > 8192 || !e.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new Error('embeddings: a vector is not a list of numbers');
    if (dims >= 0 && e.length !== dims) throw new Error('embeddings: vectors of different lengths');
    dims = e.length;
    out[at] = normalised(Float32Array.from(e as number[]));
  });
  for (let i = 0; i < count; i++) if (!out[i]) throw new Error('embeddings: an index is missing');
  return out;
}

/** The vector scaled to length 1, so that a dot product is the cosine. */
function normalised(v: Float32Array): Float32Array {
  let sq = 0;
  for (const x of v) sq += x * x;
  const n = Math.sqrt(sq);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

export function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
