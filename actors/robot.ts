/**
 * The standard Q&A robot's decision (product.md §4.3): given its configuration and the ranked knowledge, which
 * answer a question gets, in the documented order — direct answer (score ≥ DirectAnsweringReaches), chitchat
 * (≥ ChitchatReaches, when enabled), clarification (> ClarifyReaches, when enabled), fallback — and the message that
 * carries it. Pure: the ranking comes from the runtime (ctx.rank).
 */
import type { RobotConfig } from '../protocol/app-model';
import { MAX_BODY_BYTES } from '../protocol/frames';
import { custom, Src, text, type TimMsgElement } from '../protocol/im';
import type { KnowledgeLibrary, RankedQuestion } from './types';

export const AnswerType = { Text: 0, RichText: 2 } as const;

/** Why the robot answered as it did: the strategy, the best score, and the question it used. */
export type RobotReply =
  | { strategy: 'direct' | 'chitchat'; score: number; question: RankedQuestion }
  | { strategy: 'clarify'; score: number; candidates: RankedQuestion[] }
  | { strategy: 'fallback'; score: number; best?: RankedQuestion }
  /** A passage of the robot's documents answers (document QA), as a finished `src 31` message. */
  | { strategy: 'document'; score: number; passage: RankedQuestion };

/** How close a document passage must be to answer a question the FAQs do not (calibrated like FAQ scores). */
export const DOCUMENT_ANSWER_SCORE = 0.7;

/** A fallback becomes the best document passage's answer when that passage is close enough. */
export function withDocuments(reply: RobotReply, rankDocuments: (limit: number) => RankedQuestion[]): RobotReply {
  if (reply.strategy !== 'fallback') return reply;
  const [best, next] = rankDocuments(2);
  return best && reaches(best, next, DOCUMENT_ANSWER_SCORE) ? { strategy: 'document', score: best.score, passage: best } : reply;
}

const asciiWord = /^[\x20-\x7e]+$/;

/** To-human intent by keyword: CJK keywords anywhere in the text, ASCII ones as whole words. */
export function matchesToHuman(keywords: readonly string[], input: string): boolean {
  const s = input.trim().toLowerCase();
  if (!s) return false;
  return keywords.some((k) => {
    const kw = k.trim().toLowerCase();
    if (!kw) return false;
    if (!asciiWord.test(kw)) return s.includes(kw);
    const at = s.indexOf(kw);
    if (at < 0) return false;
    const before = at === 0 ? '' : s[at - 1];
    const after = s[at + kw.length] ?? '';
    return !/[a-z0-9]/.test(before) && !/[a-z0-9]/.test(after);
  });
}

/** Score from which a text counts as asking for a human (ToAgentEnable), against the built-in phrasings. */
export const TO_HUMAN_REACHES = 0.85;

export type RobotResponse = { strategy: 'toHuman'; score: number } | RobotReply;

/**
 * What the robot does with a text (GAP-3): a to-human keyword hands it over; otherwise the answer is decided, and
 * with ToAgentEnable on a close match to a way of asking for a human hands it over instead, unless the knowledge
 * answers the text at least as well ("你是真人吗" is chitchat, not a request for a human).
 */
export function respond(config: RobotConfig, keywords: readonly string[], rank: (library: KnowledgeLibrary, limit: number) => RankedQuestion[], input: string): RobotResponse {
  if (matchesToHuman(keywords, input)) return { strategy: 'toHuman', score: 1 };
  const reply = decideReply(config, rank);
  if (config.toAgentEnable) {
    const intent = rank('toHuman', 1)[0]?.score ?? 0;
    const answered = reply.strategy === 'direct' || reply.strategy === 'chitchat' ? reply.score : 0;
    if (intent >= TO_HUMAN_REACHES && intent > answered) return { strategy: 'toHuman', score: intent };
  }
  return reply;
}

/**
 * The task flow a text starts (its id), if any: the best flow intent (of `intents`, best first) scores at least
 * DirectAnsweringReaches, no less than the answer the knowledge would give (GAP-3), and, matched by meaning, leads
 * the runner-up by its margin.
 */
export function startingFlow(config: RobotConfig, response: RobotResponse, intents: readonly RankedQuestion[]): string | undefined {
  const [best, next] = intents;
  if (!best || response.strategy === 'toHuman' || !reaches(best, next, config.directAnsweringReaches)) return undefined;
  const answered = response.strategy === 'direct' || response.strategy === 'chitchat' ? response.score : 0;
  return best.score >= answered ? best.id : undefined;
}

/**
 * Whether `q` is close enough to answer: at `threshold`, and a match by meaning with its lead over the runner-up
 * (unless its words alone reach the threshold: meaning never makes a question the words answer worse).
 */
function reaches(q: RankedQuestion, runnerUp: RankedQuestion | undefined, threshold: number): boolean {
  if (q.score < threshold) return false;
  return q.lead === undefined || (q.words ?? 0) >= threshold || !runnerUp || q.score - runnerUp.score >= q.lead;
}

/** Candidates ranked for a clarification when ClarifyNumber asks for more than one. */
const MAX_CLARIFY = 10;

export function decideReply(config: RobotConfig, rank: (library: KnowledgeLibrary, limit: number) => RankedQuestion[]): RobotReply {
  // Two at least: a match by meaning must lead the runner-up (RankedQuestion.lead).
  const faq = rank('faq', Math.max(2, Math.min(MAX_CLARIFY, config.clarifyNumber)));
  const top = faq[0];
  const score = top?.score ?? 0;
  if (top && reaches(top, faq[1], config.directAnsweringReaches)) return { strategy: 'direct', score, question: top };
  if (config.chitchatEnable) {
    const [chat, next] = rank('chitchat', 2);
    if (chat && reaches(chat, next, config.chitchatReaches)) return { strategy: 'chitchat', score: chat.score, question: chat };
  }
  // The band is (ClarifyReaches, DirectAnsweringReaches): "exceeds" the lower bound, below the direct threshold.
  const candidates = faq.filter((q) => q.score > config.clarifyReaches).slice(0, config.clarifyNumber);
  if (config.clarifyEnable && candidates.length > 0) return { strategy: 'clarify', score, candidates };
  return { strategy: 'fallback', score, ...(top ? { best: top } : {}) };
}

/** An answer as the user gets it: plain text, or src 30 markdown for a rich-text answer. */
export function answerBody(q: Pick<RankedQuestion, 'answer' | 'answerType'>): TimMsgElement[] {
  return q.answerType === AnswerType.RichText ? [custom({ src: Src.RichText, content: q.answer })] : [text(q.answer)];
}

/** The message carrying a reply. */
export function replyBody(config: RobotConfig, r: RobotReply): TimMsgElement[] {
  switch (r.strategy) {
    case 'direct':
    case 'chitchat':
      return answerBody(r.question);
    case 'clarify': {
      // Long questions could take the card past what a message may carry: the weakest candidates give way.
      const card = (n: number) => [custom({
        src: Src.RobotCard, subtype: 'clarify_msg',
        content: { title: config.clarifyMessage, content: config.clarifyMessage, items: r.candidates.slice(0, n).map((q) => ({ content: q.question })) },
      })];
      let n = r.candidates.length;
      while (n > 1 && Buffer.byteLength(JSON.stringify(card(n))) > MAX_BODY_BYTES) n--;
      return card(n);
    }
    case 'fallback':
      return [text(config.fallbackMsg)];
    case 'document':
      return [custom({ src: Src.Stream, chunks: [r.passage.answer], isFinished: 1 })];
  }
}

/** The src 29 welcome card, when it is on and has questions (at most 20, in their order). */
export function welcomeCard(config: RobotConfig): TimMsgElement[] | undefined {
  if (!config.welcomeCardEnable || config.welcomeCardQuestions.length === 0) return undefined;
  return [custom({
    src: Src.RobotCard, subtype: 'welcome_msg',
    content: { title: config.welcomeCardTitle, content: '', items: config.welcomeCardQuestions.slice(0, 20).map((q) => ({ content: q })) },
  })];
}

/** What an answer's record says about its source (events, online test, logs). */
export function replySource(r: RobotReply): { strategy: RobotReply['strategy']; score: number; questionId?: string; question?: string; matched?: string; candidates?: string[] } {
  switch (r.strategy) {
    case 'direct':
    case 'chitchat':
      return { strategy: r.strategy, score: r.score, questionId: r.question.id, question: r.question.question, matched: r.question.matched };
    case 'clarify':
      return { strategy: r.strategy, score: r.score, candidates: r.candidates.map((q) => q.id) };
    case 'fallback':
      return { strategy: r.strategy, score: r.score, ...(r.best ? { questionId: r.best.id, question: r.best.question, matched: r.best.matched } : {}) };
    case 'document':
      return { strategy: r.strategy, score: r.score, questionId: r.passage.id, question: r.passage.question, matched: r.passage.matched };
  }
}
