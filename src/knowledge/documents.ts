/**
 * The robot's documents (document QA): plain text and markdown added over REST, cut into passages of a few sentences,
 * and ranked against a question like FAQs are (the same features and TF-IDF cosine). The best passage answers a
 * question the FAQs do not (extractively), and in language-model mode the best passages are its knowledge.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from 'lmdb';
import type { RankedQuestion } from '../../actors/types';
import type { Store } from '../store/store';
import { features, type Features } from './features';
import { Matcher, meaningOf, type MatchDoc } from './matcher';
import type { Blend } from './semantic';

export type DocumentFormat = 'txt' | 'md' | 'pdf' | 'docx';
export interface RobotDocument { id: string; name: string; format: DocumentFormat; addedAt: number; size: number; passages: string[] }

/** A passage stops growing past this many characters (at a sentence end): short passages match sharply and answer briefly. */
const PASSAGE_CHARS = 120;
/** A line alone up to this long, without sentence punctuation, is taken for a title. */
const TITLE_CHARS = 40;
/** Documents one robot may hold. */
export const MAX_DOCUMENTS = 200;

/**
 * Passages one robot's documents may hold in all (about 360 KB of text): rebuilding the main index is one synchronous
 * step (about 150 ms per 1,000 passages here), so this bounds how long it holds up everything else.
 */
export const MAX_PASSAGES = 3_000;
/** Hits asked of the main index beyond those wanted, for those of deleted documents. */
const RANK_SPARE = 20;
/** Passages whose features are worked out between two looks at the event loop (each takes about a millisecond). */
const FEATURES_PER_STEP = 50;

/** Why a robot takes no more documents, if it does not. */
export function documentsFull(lib: DocumentLibrary, app: number, robotId: string): string | undefined {
  if (lib.list(app, robotId).length >= MAX_DOCUMENTS) return `a robot holds at most ${MAX_DOCUMENTS} documents`;
  if (lib.passageCount(app, robotId) >= MAX_PASSAGES) return `a robot's documents hold at most ${MAX_PASSAGES} passages (about 360 KB of text)`;
  return undefined;
}

interface Loaded {
  docs: Map<string, RobotDocument>;
  /** Each document's passages' features, worked out once (they cost most of building an index). */
  features: Map<string, Features[]>;
  /**
   * The index: a main one, rebuilt only when enough has changed since (it takes about 150 ms per 1,000 passages), and
   * a small one of the documents added since, weighing words as the main one does so that their scores compare.
   * Passages of deleted documents are dropped when ranked.
   */
  main?: Matcher;
  mainDocs: Set<string>;
  /** Passages of documents deleted since the main index was built. */
  removedPassages: number;
  delta?: Matcher;
  /** The rebuild under way, if any; another change waits for it and rebuilds again. */
  building?: Promise<void>;
  stale: boolean;
}

/** The added or deleted passages past which the main index is rebuilt: this many, or this share of it. */
const MIN_DELTA = 500;
const DELTA_SHARE = 0.2;

function docsOf(docs: readonly RobotDocument[], lib: Loaded): MatchDoc[] {
  return docs.flatMap((d) => d.passages.map((text, i) => ({ questionId: `${d.id}#${i}`, text, features: lib.features.get(d.id)![i] })));
}

/** A document too large to share with the other nodes of a cluster. */
export class DocumentTooLarge extends Error {
  constructor(maxBytes: number) {
    super(`in a cluster a document is at most ${maxBytes} bytes once split into passages (about ${Math.floor(maxBytes / 3)} characters of Chinese text)`);
  }
}

export class DocumentLibrary {
  private readonly rows: Database<RobotDocument, [number, string, string]>;
  private readonly loaded = new Map<string, Loaded>();
  /** Told each document added or removed here (a cluster shares them). */
  onWrite?: (app: number, robotId: string, id: string, doc: RobotDocument | undefined) => void;

  constructor(private readonly store: Store) {
    this.rows = store.table<RobotDocument, [number, string, string]>('documents');
  }

  list(app: number, robotId: string): RobotDocument[] {
    return [...this.of(app, robotId).docs.values()].sort((a, b) => b.addedAt - a.addedAt);
  }

  /** Passages the robot's documents hold in all. */
  passageCount(app: number, robotId: string): number {
    let n = 0;
    for (const d of this.of(app, robotId).docs.values()) n += d.passages.length;
    return n;
  }

  /**
   * Adds a document; resolves once it answers (its passages are in the index). Throws `DocumentTooLarge`, adding
   * nothing, when its row would be over `maxBytes` (a cluster shares each document as one NATS message).
   */
  add(app: number, robotId: string, name: string, format: DocumentFormat, text: string, now: number, maxBytes = Infinity): Promise<RobotDocument> {
    const doc: RobotDocument = { id: `doc-${randomBytes(8).toString('hex')}`, name, format, addedAt: now, size: Buffer.byteLength(text), passages: passagesOf(format === 'md' ? plainMarkdown(text) : text) };
    if (maxBytes !== Infinity && Buffer.byteLength(JSON.stringify(doc)) > maxBytes) throw new DocumentTooLarge(maxBytes);
    this.of(app, robotId).docs.set(doc.id, doc);
    this.store.write(() => this.rows.putSync([app, robotId, doc.id], doc));
    this.onWrite?.(app, robotId, doc.id, doc);
    return this.ready(app, robotId).then(() => doc);
  }

  remove(app: number, robotId: string, id: string): boolean {
    if (!this.drop(app, robotId, id)) return false;
    this.onWrite?.(app, robotId, id, undefined);
    return true;
  }

  /** A document another node added (or removed: undefined); its index is rebuilt in the background. */
  apply(app: number, robotId: string, id: string, doc: RobotDocument | undefined): void {
    if (!doc) {
      this.drop(app, robotId, id);
      return;
    }
    const lib = this.of(app, robotId);
    lib.docs.set(id, doc);
    this.store.write(() => this.rows.putSync([app, robotId, id], doc));
    void this.ready(app, robotId);
  }

  /** The documents of a robot in the table (a node bringing them into a cluster). */
  stored(app: number, robotId: string): RobotDocument[] {
    return [...this.rows.getRange({ start: [app, robotId], end: [app, robotId, '\uffff'] })].map((e) => e.value);
  }

  /** Drops a robot's documents here (the cluster's replace them). */
  forget(app: number, robotId: string): void {
    for (const d of this.stored(app, robotId)) this.store.write(() => this.rows.removeSync([app, robotId, d.id]));
    this.loaded.delete(`${app}|${robotId}`);
  }

  private drop(app: number, robotId: string, id: string): boolean {
    const lib = this.of(app, robotId);
    const doc = lib.docs.get(id);
    if (!doc) return false;
    lib.docs.delete(id);
    lib.features.delete(id);
    if (lib.mainDocs.delete(id)) lib.removedPassages += doc.passages.length;
    this.store.write(() => this.rows.removeSync([app, robotId, id]));
    void this.ready(app, robotId);
    return true;
  }

  /**
   * Resolves once the index holds every document: the passages' features are worked out a few at a time, so that a
   * large document does not hold up the server's other work; the index in use meanwhile is the previous one.
   */
  ready(app: number, robotId: string): Promise<void> {
    const lib = this.of(app, robotId);
    lib.stale = true;
    lib.building ??= this.rebuild(lib).finally(() => {
      lib.building = undefined;
      // A change that came after the last round of the rebuild.
      if (lib.stale) void this.ready(app, robotId);
    });
    return lib.building;
  }

  private async rebuild(lib: Loaded): Promise<void> {
    while (lib.stale) {
      lib.stale = false;
      for (const d of [...lib.docs.values()]) {
        if (lib.features.has(d.id)) continue;
        const feats: Features[] = [];
        for (let i = 0; i < d.passages.length; i++) {
          feats.push(features(d.passages[i]!));
          if (i % FEATURES_PER_STEP === FEATURES_PER_STEP - 1) await new Promise((r) => setImmediate(r));
        }
        if (lib.docs.has(d.id)) lib.features.set(d.id, feats);
      }
      const indexed = [...lib.docs.values()].filter((d) => lib.features.has(d.id));
      const added = indexed.filter((d) => !lib.mainDocs.has(d.id));
      const mainSize = indexed.reduce((n, d) => n + (lib.mainDocs.has(d.id) ? d.passages.length : 0), 0);
      const changed = added.reduce((n, d) => n + d.passages.length, 0) + lib.removedPassages;
      if (!lib.main || changed > Math.max(MIN_DELTA, mainSize * DELTA_SHARE)) {
        lib.main = indexed.length > 0 ? new Matcher(docsOf(indexed, lib)) : undefined;
        lib.mainDocs = new Set(indexed.map((d) => d.id));
        lib.removedPassages = 0;
        lib.delta = undefined;
      } else {
        lib.delta = added.length > 0 ? new Matcher(docsOf(added, lib), lib.main) : undefined;
      }
    }
  }

  /**
   * The passages closest to a question, as ranked entries: `question` is the document's name, `answer` the passage.
   * `byMeaning`: word matches blended with meaning (the knowledge base's blend), when the app matches by meaning.
   */
  rank(app: number, robotId: string, query: Features, limit: number, byMeaning?: Blend): RankedQuestion[] {
    const lib = this.of(app, robotId);
    // Deleted documents' passages may still be in the main index: ask it for more.
    let hits = [...(lib.main?.rankFeatures(query, limit + RANK_SPARE) ?? []), ...(lib.delta?.rankFeatures(query, limit) ?? [])];
    if (byMeaning) hits = byMeaning(hits, this.passages(app, robotId).map((p) => ({ id: p.id, phrasings: [p.text] })));
    return hits.sort((a, b) => b.score - a.score).flatMap((m) => {
      const [docId, i] = m.questionId.split('#');
      const doc = lib.docs.get(docId!);
      return doc ? [{
        id: m.questionId, question: doc.name, answer: doc.passages[Number(i)]!, answerType: 0 as const, score: m.score, matched: m.matched,
        ...meaningOf(m),
      }] : [];
    }).slice(0, limit);
  }

  /** Every passage of a robot's documents, with its id. */
  passages(app: number, robotId: string): { id: string; text: string }[] {
    return [...this.of(app, robotId).docs.values()].flatMap((d) => d.passages.map((text, i) => ({ id: `${d.id}#${i}`, text })));
  }

  private of(app: number, robotId: string): Loaded {
    const key = `${app}|${robotId}`;
    let lib = this.loaded.get(key);
    if (!lib) {
      const docs = new Map<string, RobotDocument>();
      for (const { value } of this.rows.getRange({ start: [app, robotId], end: [app, robotId, '\uffff'] })) docs.set(value.id, value);
      this.loaded.set(key, (lib = { docs, features: new Map(), mainDocs: new Set(), removedPassages: 0, stale: false }));
    }
    return lib;
  }
}

/** Markdown as the text a reader sees: no emphasis, code fences, link targets or pictures (headings stay, as lines). */
export function plainMarkdown(md: string): string {
  return md
    .replace(/```[^\n]*\n?/g, '')
    // Bounded, so that text full of brackets takes linear time.
    .replace(/!\[[^\]\n]{0,300}\]\([^)\n]{0,500}\)/g, '')
    .replace(/\[([^\]\n]{0,300})\]\([^)\n]{0,500}\)/g, '$1')
    .replace(/^\s{0,3}(>|[-*+]|\d+[.)])\s+/gm, '')
    .replace(/(\*\*|__|\*|_|`)/g, '');
}

/**
 * Passages: a few sentences of one paragraph (cut after the sentence end that passes PASSAGE_CHARS), each led by the
 * title of its section (a markdown heading, or a short line alone), which says what the passage is about even when
 * its words do not.
 */
export function passagesOf(text: string): string[] {
  // A full stop ends a sentence only before a space or the end ("3.5" and "v1.2" do not).
  const sentences = (p: string): string[] => p.match(/(?:[^。！？!?.]|\.(?=\S))+(?:[。！？!?]+|\.|$)\s*/g)?.map((x) => x.trim()).filter(Boolean) ?? [];
  const out: string[] = [];
  let title = '';
  for (const block of text.replace(/\r\n?/g, '\n').split(/\n\s*\n/)) {
    const lines = block.split('\n').map((l) => l.trim()).filter(Boolean);
    const body: string[] = [];
    for (const line of lines) {
      const heading = /^#{1,6}\s+(.*)$/.exec(line);
      if (heading) title = heading[1]!.trim();
      else body.push(line);
    }
    if (body.length === 0) continue;
    // A short line alone, without sentence punctuation, is a title too (text, Word and PDF documents have no heading
    // marks).
    if (body.length === 1 && body[0]!.length <= TITLE_CHARS && !/[。！？!?.:：;；，,]/.test(body[0]!)) {
      title = body[0]!;
      continue;
    }
    let cur = '';
    const push = (): void => {
      if (cur) out.push(title ? `${title}: ${cur}` : cur);
      cur = '';
    };
    for (const s of sentences(body.join(' '))) {
      cur += (cur && !/[\u3000-\u9fff]$/.test(cur) ? ' ' : '') + s;
      if (cur.length >= PASSAGE_CHARS) push();
    }
    push();
  }
  return out;
}
