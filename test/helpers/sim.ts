/**
 * A deterministic in-memory harness for the actors: no LMDB, no sockets, no real time.
 *
 * - states: a Map of address → state; each delivery runs `decide` and folds the events with `evolve`,
 *   exactly as the runtime does (`state = events.reduce(evolve, state)`).
 * - deliveries: `send` effects go into per-(sender, receiver) FIFO channels. In 'fifo' order the oldest
 *   delivery goes first (what the embedded runtime does); with a seed, a seeded-random channel goes next,
 *   which keeps per-sender order but interleaves senders arbitrarily (what a cluster can do).
 * - time: a ManualClock; `timer`/`cancelTimer` effects arm and disarm it, `advance(ms)` fires what falls due.
 * - ids: `sid-1`, `sid-2`, …; requests carry `{ call: n }` so replies are captured by number.
 * - pushes and replies are captured (recipient + frame) so tests can assert what a user or agent would see.
 */
import { isDeepStrictEqual } from 'node:util';
import { agent, type AgentState } from '../../actors/agent';
import { agentAddress, idOf, kindOf, queueAddress, sessionAddress } from '../../actors/address';
import { queue, type QueueState } from '../../actors/queue';
import { session, type SessionState } from '../../actors/session';
import type { ActorDef, Address, Ctx, Effect, Recipient, ReplyTo, StoredMessage } from '../../actors/types';
import {
  DEFAULT_CS_ACCOUNT, defaultCsAccount, defaultSessionSettings,
  type AppModel, type CsAccount, type Member, type SatisfactionConfig, type SessionSettings,
} from '../../protocol/app-model';
import type { AgentStatus, ServerFrame } from '../../protocol/frames';
import type { TimMsgElement } from '../../protocol/im';
import { ManualClock } from '../../src/runtime/clock';
import { rng } from './rng';

export { rng };

export const APP = 1400000001;
export const CS = DEFAULT_CS_ACCOUNT;
/** Monday 2026-01-05 10:00 Asia/Shanghai. */
export const T0 = Date.UTC(2026, 0, 5, 2, 0, 0);

export interface MemberSpec { mail: string; nickname?: string; groupIds?: number[]; receptionLimit?: number; disabled?: boolean }

export interface SimOptions {
  /** Members; a plain string is a member of group 1. Default: alice and bob in group 1. */
  members?: (string | MemberSpec)[];
  /** Group ids; default [1, 2]. */
  groups?: number[];
  session?: Partial<Omit<SessionSettings, 'satisfaction'>> & { satisfaction?: Partial<SatisfactionConfig> };
  /** Overrides of the default customer-service account. */
  account?: Partial<CsAccount>;
  /** Further customer-service accounts by UserID (e.g. one per group). */
  accounts?: Record<string, Partial<CsAccount>>;
  /** 'fifo' (default) or a seed for random interleaving. */
  order?: 'fifo' | { seed: number };
  /** The knowledge ranking the robot uses (none by default: every question falls back). */
  rank?: Ctx['rank'];
  /** Whether a question waits for its vector (matching by meaning); never by default. */
  awaitsMeaning?: Ctx['awaitsMeaning'];
  start?: number;
}

/** A pushed frame; `exceptConn` is the sender's own socket, which does not get it. */
export interface Push { to: Recipient; frame: ServerFrame; exceptConn?: number }
export interface Reply { ok: boolean; data?: unknown; code?: number; info?: string }
export interface Delivery { from: Address; to: Address; msg: unknown }
export interface Step extends Delivery { at: number; events: unknown[]; effects: Effect[] }

const defs: Record<string, ActorDef<any, any, any>> = { session, agent, queue };

export function buildApp(o: SimOptions = {}): AppModel {
  const base = defaultSessionSettings();
  const { satisfaction, ...rest } = o.session ?? {};
  const members: Record<string, Member> = {};
  for (const spec of o.members ?? ['alice@desk.test', 'bob@desk.test']) {
    const m: MemberSpec = typeof spec === 'string' ? { mail: spec } : spec;
    members[m.mail] = {
      mail: m.mail, nickname: m.nickname ?? m.mail.split('@')[0], passwordHash: '', roles: ['staff'],
      groupIds: m.groupIds ?? [1], receptionLimit: m.receptionLimit ?? 0, disabled: m.disabled ?? false,
    };
  }
  const groups: AppModel['groups'] = {};
  for (const id of o.groups ?? [1, 2]) groups[String(id)] = { id, name: `group ${id}` };
  return {
    sdkAppId: APP, secretKey: 'k', adminIdentifier: 'administrator', members, groups,
    csAccounts: {
      [CS]: { ...defaultCsAccount(CS, true), ...o.account },
      ...Object.fromEntries(Object.entries(o.accounts ?? {}).map(([id, a]) => [id, { ...defaultCsAccount(id, false), ...a }])),
    },
    session: { ...base, ...rest, satisfaction: { ...base.satisfaction, ...satisfaction } },
  };
}


// ── body and frame helpers ─────────────────────────────────────────────────────────────────────────
export const textBody = (t: string): TimMsgElement[] => [{ MsgType: 'TIMTextElem', MsgContent: { Text: t } }];
export const srcBody = (src: string, extra: Record<string, unknown> = {}): TimMsgElement[] => [
  { MsgType: 'TIMCustomElem', MsgContent: { Data: JSON.stringify({ customerServicePlugin: 0, src, ...extra }) } },
];

type Body = { MsgType: string; MsgContent: { Text?: string; Data?: string } }[];

/** Text of a `message` frame whose first element is text. */
export function textOf(f: ServerFrame): string | undefined {
  if (f.type !== 'message') return undefined;
  const e = (f.data as { body: Body }).body[0];
  return e?.MsgType === 'TIMTextElem' ? e.MsgContent.Text : undefined;
}

/** The Desk custom payload of a `message` / `message.edit` frame, if any. */
export function payloadOf(f: ServerFrame): Record<string, any> | undefined {
  if (f.type !== 'message' && f.type !== 'message.edit') return undefined;
  const e = (f.data as { body: Body }).body[0];
  if (e?.MsgType !== 'TIMCustomElem') return undefined;
  try {
    return JSON.parse(e.MsgContent.Data!) as Record<string, any>;
  } catch {
    return undefined;
  }
}

export const srcOf = (f: ServerFrame): string | undefined => payloadOf(f)?.src as string | undefined;

// ── the harness ────────────────────────────────────────────────────────────────────────────────────
export class Sim {
  readonly app: AppModel;
  readonly clock: ManualClock;
  readonly states = new Map<Address, unknown>();
  readonly pushes: Push[] = [];
  readonly replies = new Map<number, Reply>();
  /** Every stored message (the `message` effects), in order. */
  readonly stored: { conv: string; message: StoredMessage }[] = [];
  /** Questions asked of the app's backend (`ask` effects), in order. */
  readonly asks: { from: Address; ask: Extract<Effect, { t: 'ask' }> }[] = [];
  /** Questions whose vectors were asked for (`embed` effects), in order. */
  readonly embeds: Extract<Effect, { t: 'embed' }>[] = [];
  /** Every handled delivery with what it produced. */
  readonly trace: Step[] = [];
  /** Called after every handled delivery (property tests check invariants here). */
  onStep?: (step: Step) => void;
  /** Fire due timers one at a time and settle after each (default); false only enqueues them. */
  settleTimers = true;

  private pending: Delivery[] = [];
  private readonly timers = new Map<string, { address: Address; key: string; at: number; handle: unknown }>();
  private readonly random?: () => number;
  private readonly rank?: Ctx['rank'];
  private readonly awaitsMeaning?: Ctx['awaitsMeaning'];
  private ids = 0;
  private calls = 0;
  private conns = 0;

  constructor(o: SimOptions = {}) {
    this.app = buildApp(o);
    this.clock = new ManualClock(o.start ?? T0);
    if (o.order && o.order !== 'fifo') this.random = rng(o.order.seed);
    this.rank = o.rank;
    this.awaitsMeaning = o.awaitsMeaning;
  }

  get now(): number {
    return this.clock.now();
  }

  private ctx(): Ctx {
    return { now: this.clock.now(), app: (id) => (id === this.app.sdkAppId ? this.app : undefined), newId: () => `sid-${++this.ids}`, ...(this.rank ? { rank: this.rank } : {}), ...(this.awaitsMeaning ? { awaitsMeaning: this.awaitsMeaning } : {}) };
  }

  /** An actor's state (its initial state if it never got a message). */
  state<S>(address: Address): S {
    if (!this.states.has(address)) this.states.set(address, defs[kindOf(address)].initial(idOf(address)));
    return this.states.get(address) as S;
  }

  /** Queues a message from outside (gateway, test); nothing runs until `run`/`step`. */
  tell(to: Address, msg: unknown, from: Address = 'test'): void {
    this.pending.push({ from, to, msg });
  }

  /** Tells a request carrying `{ call: n }`, runs to quiescence and returns the reply, if any. */
  call(to: Address, build: (replyTo: ReplyTo) => unknown): Reply | undefined {
    const id = ++this.calls;
    this.tell(to, build({ call: id }));
    this.run();
    return this.replies.get(id);
  }

  get idle(): boolean {
    return this.pending.length === 0;
  }

  /** Handles one delivery; false when nothing is pending. */
  step(): boolean {
    if (this.pending.length === 0) return false;
    let i = 0;
    if (this.random) {
      const channels = [...new Set(this.pending.map((d) => `${d.from}\u0000${d.to}`))];
      const pick = channels[Math.floor(this.random() * channels.length)];
      i = this.pending.findIndex((d) => `${d.from}\u0000${d.to}` === pick);
    }
    const [d] = this.pending.splice(i, 1);
    this.handle(d);
    return true;
  }

  /** Handles the oldest pending delivery that matches (to stage a particular interleaving); false when none does. */
  stepWhere(pred: (d: Delivery) => boolean): boolean {
    const i = this.pending.findIndex(pred);
    if (i < 0) return false;
    this.handle(this.pending.splice(i, 1)[0]);
    return true;
  }

  /** Handles deliveries until none is pending. */
  run(limit = 100_000): number {
    let n = 0;
    while (this.step()) if (++n > limit) throw new Error(`no quiescence after ${limit} deliveries`);
    return n;
  }

  /** Moves time forward, firing every timer that falls due on the way (in time order). */
  advance(ms: number): void {
    this.clock.advance(ms);
    if (this.settleTimers) this.run();
  }

  /**
   * When the actor's timer `key` will take effect: a session's deadline (its wake-ups may be armed earlier, or left
   * armed after the deadline is cleared), otherwise the armed wake-up.
   */
  timerAt(address: Address, key: string): number | undefined {
    const s = this.states.get(address) as { cur?: { deadlines?: Record<string, number> } } | undefined;
    if (kindOf(address) === 'session') return s?.cur?.deadlines?.[key];
    return this.timers.get(`${address}\u0000${key}`)?.at;
  }

  private handle(d: Delivery): void {
    const def = defs[kindOf(d.to)];
    const prev = this.state(d.to);
    // evolve may update a state in place: decide gets a copy, so the fold below starts from the state as it was.
    const { events, effects, state } = def.decide(structuredClone(prev), d.msg, this.ctx());
    const folded = events.reduce((s: unknown, e: unknown) => def.evolve(s, e), prev);
    // The runtime trusts a decision's own state instead of folding again: it must be the fold.
    if (state !== undefined && !isDeepStrictEqual(state, folded)) throw new Error(`decide's state differs from its events folded (${d.to})`);
    this.states.set(d.to, folded);
    for (const f of effects) this.effect(d.to, f);
    const step: Step = { ...d, at: this.clock.now(), events, effects };
    this.trace.push(step);
    this.onStep?.(step);
  }

  private effect(from: Address, f: Effect): void {
    switch (f.t) {
      case 'send': this.pending.push({ from, to: f.to, msg: f.msg }); break;
      case 'push': this.pushes.push({ to: f.to, frame: f.frame, exceptConn: f.exceptConn }); break;
      case 'reply': if ('call' in f.replyTo) this.replies.set(f.replyTo.call, { ok: f.ok, data: f.data, code: f.code, info: f.info }); break;
      case 'message': this.stored.push({ conv: f.conv, message: f.message }); break;
      case 'activeSession': break;
      case 'ask': this.asks.push({ from, ask: f }); break;
      case 'embed': this.embeds.push(f); break;
      case 'timer': {
        const k = `${from}\u0000${f.key}`;
        const old = this.timers.get(k);
        if (old && old.at <= f.at) break; // as the runtime: a wake-up due no later is kept
        if (old) this.clock.cancel(old.handle);
        const handle = this.clock.schedule(f.at, () => {
          this.timers.delete(k);
          this.tell(from, { type: '$timer', key: f.key }, 'clock');
          if (this.settleTimers) this.run();
        });
        this.timers.set(k, { address: from, key: f.key, at: f.at, handle });
        break;
      }
      case 'cancelTimer': {
        const k = `${from}\u0000${f.key}`;
        const old = this.timers.get(k);
        if (old) this.clock.cancel(old.handle);
        this.timers.delete(k);
        break;
      }
    }
  }

  // ── observations ──────────────────────────────────────────────────────────────────────────────
  /** Frames pushed to a user or an agent (since the last `forget`). */
  seen(role: 'user' | 'agent', id: string): ServerFrame[] {
    return this.pushes.filter((p) => p.to.role === role && p.to.id === id).map((p) => p.frame);
  }

  /** Text messages a user was shown. */
  texts(userId: string): string[] {
    return this.seen('user', userId).map(textOf).filter((x): x is string => x !== undefined);
  }

  /** `src` codes of the custom messages a user was shown. */
  srcs(userId: string): string[] {
    return this.seen('user', userId).map(srcOf).filter((x): x is string => x !== undefined);
  }

  /** Frame types an agent received. */
  agentFrames(mail: string, type?: string): ServerFrame[] {
    return this.seen('agent', mail).filter((f) => type === undefined || f.type === type);
  }

  /** Events an actor emitted, optionally of one type. */
  events<E extends { type: string }>(address: Address, type?: string): E[] {
    return this.trace.filter((s) => s.to === address).flatMap((s) => s.events as E[]).filter((e) => type === undefined || e.type === type);
  }

  /** Forgets captured pushes (replies and trace stay). */
  forget(): void {
    this.pushes.length = 0;
  }

  // ── addresses and states ──────────────────────────────────────────────────────────────────────
  conv(userId: string, cs = CS): Address { return sessionAddress(APP, cs, userId); }
  agentAddr(mail: string): Address { return agentAddress(APP, mail); }
  queueAddr(groupId: number): Address { return queueAddress(APP, groupId); }
  session(userId: string): SessionState { return this.state<SessionState>(this.conv(userId)); }
  agent(mail: string): AgentState { return this.state<AgentState>(this.agentAddr(mail)); }
  queue(groupId: number): QueueState { return this.state<QueueState>(this.queueAddr(groupId)); }
  /** Current session id of a user (throws when none). */
  sid(userId: string): string {
    const c = this.session(userId).cur;
    if (!c) throw new Error(`${userId} has no current session`);
    return c.sessionId;
  }
  phase(userId: string): string { return this.session(userId).cur?.phase ?? 'NotInSession'; }

  // ── user actions ──────────────────────────────────────────────────────────────────────────────
  private randoms = 1000;
  userSend(userId: string, body: TimMsgElement[], random = ++this.randoms): Reply | undefined {
    return this.call(this.conv(userId), (replyTo) => ({ type: 'userSend', random, body, conn: 1, replyTo }));
  }
  say(userId: string, s: string, random?: number): Reply | undefined { return this.userSend(userId, textBody(s), random); }
  enter(userId: string): Reply | undefined { return this.userSend(userId, srcBody('7')); }
  src(userId: string, code: string, extra: Record<string, unknown> = {}): Reply | undefined { return this.userSend(userId, srcBody(code, extra)); }
  userOnline(userId: string): void { this.tell(this.conv(userId), { type: 'userOnline' }); this.run(); }
  userOffline(userId: string): void { this.tell(this.conv(userId), { type: 'userOffline' }); this.run(); }

  // ── agent actions ─────────────────────────────────────────────────────────────────────────────
  /** Opens a socket for the member (offline → free); returns the connection number. */
  connect(mail: string): number {
    const conn = ++this.conns;
    this.tell(this.agentAddr(mail), { type: 'connected', conn });
    this.run();
    return conn;
  }
  disconnect(mail: string, conn: number): void { this.tell(this.agentAddr(mail), { type: 'disconnected', conn }); this.run(); }
  status(mail: string, status: AgentStatus, reason?: string): Reply | undefined {
    return this.call(this.agentAddr(mail), (replyTo) => ({ type: 'setStatus', status, reason, replyTo }));
  }
  /** An agent action on the session of `userId`. */
  act(mail: string, userId: string, action: string, extra: { groupId?: number; targetMemberId?: string; sessionId?: string } = {}): Reply | undefined {
    const sessionId = extra.sessionId ?? this.sid(userId);
    return this.call(this.conv(userId), (replyTo) => ({ type: 'agentAction', action, memberId: mail, sessionId, groupId: extra.groupId, targetMemberId: extra.targetMemberId, replyTo }));
  }
  agentSay(mail: string, userId: string, s: string, random = ++this.randoms): Reply | undefined {
    const sessionId = this.sid(userId);
    return this.call(this.conv(userId), (replyTo) => ({ type: 'agentSend', memberId: mail, sessionId, random, body: textBody(s), conn: 2, replyTo }));
  }
}

/** Runs one pure step of an actor def by hand: decide, then fold the events. For single-actor unit tests. */
export function applyOne<S, M, E>(def: ActorDef<S, M, E>, state: S, msg: M, ctx: Ctx): { state: S; events: E[]; effects: Effect[] } {
  // evolve may update a state in place: the caller's state is left as it was.
  const d = def.decide(structuredClone(state), msg, ctx);
  return { state: d.events.reduce(def.evolve, structuredClone(state)), events: d.events, effects: d.effects };
}

/** A context for single-actor unit tests. */
export function ctxOf(app: AppModel, now = T0): Ctx {
  let n = 0;
  return { now, app: (id) => (id === app.sdkAppId ? app : undefined), newId: () => `sid-${++n}` };
}
