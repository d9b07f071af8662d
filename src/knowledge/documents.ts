/**
 * The robot's documents (document QA): plain text and markdown added over REST, cut into passages of a few sentences,
 * and ranked against a question like FAQs are (the same features and TF-IDF cosine). The best passage answers a
 * question the FAQs do not (extractively), and in language-model mode the best passages are its knowledge.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from 'lmdb';
import type { RankedQuestion } from '../../actors/types';
import type { Store } from '../store/store';
import type { Features } from './features';
import { Matcher } from './matcher';

export type DocumentFormat = 'txt' | 'md' | 'pdf' | 'docx';
export interface RobotDocument { id: string; name: string; format: DocumentFormat; addedAt: number; size: number; passages: string[] }

/** A passage stops growing past this many characters (at a sentence end): short passages match sharply and answer briefly. */
const PASSAGE_CHARS = 120;
/** A line alone up to this long, without sentence punctuation, is taken for a title. */
const TITLE_CHARS = 40;
/** Documents one robot may hold. */
export const MAX_DOCUMENTS = 200;

export class DocumentLibrary {
  private readonly rows: Database<RobotDocument, [number, string, string]>;
  /** By `app|robotId`: the documents, and the index of their passages (built when first ranked). */
  private readonly loaded = new Map<string, { docs: Map<string, RobotDocument>; index?: Matcher }>();

  constructor(private readonly store: Store) {
    this.rows = store.table<RobotDocument, [number, string, string]>('documents');
  }

  list(app: number, robotId: string): RobotDocument[] {
    return [...this.of(app, robotId).docs.values()].sort((a, b) => b.addedAt - a.addedAt);
  }

  add(app: number, robotId: string, name: string, format: DocumentFormat, text: string, now: number): RobotDocument {
    const doc: RobotDocument = { id: `doc-${randomBytes(8).toString('hex')}`, name, format, addedAt: now, size: Buffer.byteLength(text), passages: passagesOf(format === 'md' ? plainMarkdown(text) : text) };
    const lib = this.of(app, robotId);
    lib.docs.set(doc.id, doc);
    lib.index = undefined;
    this.store.write(() => this.rows.putSync([app, robotId, doc.id], doc));
    return doc;
  }

  remove(app: number, robotId: string, id: string): boolean {
    const lib = this.of(app, robotId);
    if (!lib.docs.delete(id)) return false;
    lib.index = undefined;
    this.store.write(() => this.rows.removeSync([app, robotId, id]));
    return true;
  }

  /** The passages closest to a question, as ranked entries: `question` is the document's name, `answer` the passage. */
  rank(app: number, robotId: string, query: Features, limit: number): RankedQuestion[] {
    const lib = this.of(app, robotId);
    if (lib.docs.size === 0) return [];
    lib.index ??= new Matcher([...lib.docs.values()].flatMap((d) => d.passages.map((text, i) => ({ questionId: `${d.id}#${i}`, text }))));
    return lib.index.rankFeatures(query, limit).flatMap((m) => {
      const [docId, i] = m.questionId.split('#');
      const doc = lib.docs.get(docId!);
      return doc ? [{ id: m.questionId, question: doc.name, answer: doc.passages[Number(i)]!, answerType: 0 as const, score: m.score, matched: m.matched }] : [];
    });
  }

  private of(app: number, robotId: string): { docs: Map<string, RobotDocument>; index?: Matcher } {
    const key = `${app}|${robotId}`;
    let lib = this.loaded.get(key);
    if (!lib) {
      const docs = new Map<string, RobotDocument>();
      for (const { value } of this.rows.getRange({ start: [app, robotId], end: [app, robotId, '\uffff'] })) docs.set(value.id, value);
      this.loaded.set(key, (lib = { docs }));
    }
    return lib;
  }
}

/** Markdown as the text a reader sees: no emphasis, code fences, link targets or pictures (headings stay, as lines). */
export function plainMarkdown(md: string): string {
  return md
    .replace(/```[^\n]*\n?/g, '')
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
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
