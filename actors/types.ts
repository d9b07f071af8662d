/** The actor contract: pure reducers plus the effects the runtime carries out. */
import type { AppModel } from '../protocol/app-model';
import type { ServerFrame } from '../protocol/frames';
import type { TaskFlow } from '../protocol/task-flow';

/** `<kind>:<id>`; ids are built in actors/address.ts. */
export type Address = string;

/** Who a pushed frame is for: every socket of that user or member in that app. */
export interface Recipient { role: 'user' | 'agent'; app: number; id: string }

/** Where a reply goes: opaque to actors, given by the runtime with the request. */
/** `boot` names the server run that made the address: an address stored in events may outlive a restart. */
/** Where a reply goes: a socket or a call of the runtime run `boot`, on cluster node `node` (absent: this node). */
export type ReplyTo = { conn: number; ref?: string | number; as?: string; boot?: string; node?: string } | { call: number; boot?: string; node?: string };

/** A message as stored and delivered. */
export interface StoredMessage {
  sessionId: string;
  seq: number;
  msgKey: string;
  from: string;
  fromRole: 1 | 2 | 3;
  time: number;
  random: number;
  body: unknown[];
  cloudCustomData?: string;
}

export type Effect =
  /** Durable message to another actor: delivered after this turn commits, exactly once. */
  | { t: 'send'; to: Address; msg: unknown }
  /** Frame to every socket of a recipient, after commit. */
  | { t: 'push'; to: Recipient; frame: ServerFrame; exceptConn?: number }
  /** Answer to the request that carried `replyTo`, after commit. */
  | { t: 'reply'; replyTo: ReplyTo; ok: boolean; data?: unknown; code?: number; info?: string }
  /**
   * Durable timer: the actor receives `{ type: '$timer', key }` at `at` or earlier (a wake-up already armed for an
   * earlier time is kept), so an actor checks its own deadline when woken and asks again if woken early.
   */
  | { t: 'timer'; key: string; at: number }
  | { t: 'cancelTimer'; key: string }
  /** Store (or overwrite) a message of a conversation. */
  | { t: 'message'; conv: string; message: StoredMessage }
  /**
   * A callback to the app's backend, kept in the durable outbox with this turn's writes and delivered in order per
   * `key`, retried until it is accepted.
   */
  | { t: 'callback'; app: number; key: string; command: string; body: Record<string, unknown> }
  /**
   * A request to the app's backend whose answer decides what happens next (ChatBot.OnAssignHuman): sent after
   * commit; the answer comes back to the actor as `{ type: reply, ok, answer, tag }`. Not durable: the actor keeps a
   * timer for the case it never comes. `tag` tells a late answer from the one awaited; `timeoutMs`: how long the
   * request may take (default: the callbacks' timeout).
   */
  | { t: 'ask'; app: number; url: string; command: string; body: Record<string, unknown>; reply: string; sessionId: string; tag?: string; timeoutMs?: number }
  /**
   * The session's service record (describe_im_cdr_list): fields merged into the stored record; `startedAt` (ms)
   * files a new record under its start time.
   */
  | { t: 'record'; app: number; sessionId: string; startedAt?: number; fields: Record<string, unknown> }
  /** Maintain the index of active sessions per user (for presence). */
  | { t: 'activeSession'; app: number; userId: string; csAccount: string; sessionId: string | null }
  /**
   * A question for the app's language model (LlmSettings): its answer streams into the session's `src 31` message
   * `msgKey` (message `seq`; `adminStream` with `robotOnly`), after commit. `passages`: the knowledge the model may
   * answer from.
   */
  | { t: 'llm'; app: number; sessionId: string; msgKey: string; seq: number; question: string; passages: string[] }
  /**
   * A question's vector, asked of the app's embedder after commit; `{ type: 'questionEmbedded', sessionId, seq }`
   * comes back when it is known or could not be had.
   */
  | { t: 'embed'; app: number; sessionId: string; seq: number; text: string; robotId: string; language: string }
  /** A question the robot could not answer (fallback), kept for QA optimisation. */
  | { t: 'unanswered'; app: number; robotId: string; language: string; question: string; sessionId: string }
  /** Maintain the directory of group chats (who may send to a group, and which account serves it); null removes it. */
  | { t: 'chatGroup'; app: number; groupId: string; csAccount: string; group: ChatGroup | null };

/** An IM group served by one customer-service account (create_group). `members` are the users in it. */
export interface ChatGroup {
  id: string;
  /** Tells apart groups created one after another with the same id (see groupConvUser). */
  generation: string;
  name: string;
  type: 'Public' | 'Private';
  owner?: string;
  members: string[];
  admins?: string[];
  introduction?: string;
  notification?: string;
  faceUrl?: string;
  maxMemberCount?: number;
  applyJoinOption?: string;
  inviteJoinOption?: string;
  appDefinedData?: { Key: string; Value: string }[];
  createdAt: number;
}

/** A robot's knowledge libraries; `toHuman` is the built-in set of ways to ask for a human. */
/** `document`: passages of the robot's documents (the question is the document's name, the answer the passage). */
export type KnowledgeLibrary = 'faq' | 'chitchat' | 'toHuman' | 'document' | 'task';

/** A standard question of a library, scored 0–1 against a user's question; `matched` is the text that scored. */
/**
 * `lead`: how far the score must lead the runner-up's for a direct answer (set for matches by meaning); `words`: the
 * word score a match by meaning replaced (what the question scores without meaning).
 */
export interface RankedQuestion { id: string; question: string; answer: string; answerType: 0 | 2; score: number; matched: string; lead?: number; words?: number }

export interface RankRequest {
  app: number;
  robotId: string;
  language: string;
  library: KnowledgeLibrary;
  text: string;
  limit: number;
  /** Rank the test environment's knowledge (the online test) instead of production's. */
  test?: boolean;
  /** Library 'task': the task flows whose intents are ranked (each flow's id is its question id). */
  tasks?: readonly TaskFlow[];
}

export interface Ctx {
  readonly now: number;
  app(sdkAppId: number): AppModel | undefined;
  /** A fresh unique id (UUID in production, seeded in tests). */
  newId(): string;
  /** In a cluster, a new session's id, which names the partition of its conversation (otherwise `newId`). */
  sessionId?(conv: Address): string;
  /** The robot's knowledge, best first; without it the robot knows nothing and falls back. */
  rank?(r: RankRequest): RankedQuestion[];
  /** True when the app matches questions by meaning and this text's vector is still to be asked for (`embed`). */
  awaitsMeaning?(app: number, text: string): boolean;
}

/**
 * What `decide` returns. `state`, when given, must equal the events folded over the input state with `evolve` (a
 * decision that already folded them says so, and the runtime does not fold them twice).
 */
export interface Decision<E, S = unknown> { events: E[]; effects: Effect[]; state?: S }

export interface ActorDef<S, M, E> {
  kind: string;
  initial(id: string): S;
  decide(state: S, msg: M, ctx: Ctx): Decision<E, S>;
  /** May update `state` in place and return it: a state belongs to its actor's cell (or a test's own copy). */
  evolve(state: S, event: E): S;
}

export const none: Decision<never> = Object.freeze({ events: [], effects: [] }) as Decision<never>;

/** Timer message every actor kind accepts. */
export interface TimerMsg { type: '$timer'; key: string }
