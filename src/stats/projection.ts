/**
 * The statistics projection: every committed turn of a session or agent actor is folded into session facts and
 * agent status changes (facts.ts), written in the turn's own transaction. Rebuilding folds the stored event log
 * the same way into fresh tables.
 */
import type { Database } from 'lmdb';
import type { AgentEvent } from '../../actors/agent';
import { idOf, kindOf, parseId } from '../../actors/address';
import type { SessionEvent } from '../../actors/session';
import type { Address } from '../../actors/types';
import type { Store } from '../store/store';
import { foldAgent, foldSession, sessionFactsKey, type SessionFacts, type StatusChange } from './facts';
import { TodayCounters } from './today';

/** Facts of sessions touched lately (ended ones; open ones and changed ones are always at hand). */
const FACTS_CACHE = 20_000;

/** The tables of one projection ('' live, or a prefix for a rebuild). */
export interface StatsTables {
  sessions: Database<SessionFacts, [number, string]>;
  /** Sessions by start: [app, startedAt ms, sessionId]. */
  byStart: Database<number, [number, number, string]>;
  /** Receptions by agent and start: [app, agentId, start ms, sessionId]. */
  byAgent: Database<number, [number, string, number, string]>;
  /** Status changes: [app, memberId, at ms, the agent's turn, the event in it] (the same keys live and rebuilt). */
  status: Database<StatusChange, [number, string, number, number, number]>;
  /** Sessions not ended: [app, sessionId]. */
  open: Database<number, [number, string]>;
}

export function statsTables(store: Store, prefix = ''): StatsTables {
  return {
    sessions: store.table(`${prefix}stats-sessions`),
    byStart: store.table(`${prefix}stats-by-start`),
    byAgent: store.table(`${prefix}stats-by-agent`),
    status: store.table(`${prefix}stats-status`),
    open: store.table(`${prefix}stats-open`),
  };
}

export class StatsProjection {
  private readonly cache = new Map<string, SessionFacts>();
  /** Facts changed since the last checkpoint: written once each at the next, however many messages changed them. */
  private readonly dirty = new Map<string, SessionFacts>();
  /** Stops writing at checkpoints (a rebuild's projection, once done). */
  readonly detach: () => void;
  /** The monitor's "today" sums, brought up to date when read (`today`). */
  private readonly todaySums = new TodayCounters();
  /** Facts changed since the "today" sums were last brought up to date. */
  private readonly todayStale = new Map<string, SessionFacts>();
  /** Open sessions' facts, by app: the realtime figures read them. */
  private readonly openFacts = new Map<number, Map<string, SessionFacts>>();
  /** `recent`: the apps' sessions started since then count in the "today" sums from the start (the live projection). */
  constructor(private readonly store: Store, readonly tables: StatsTables = statsTables(store), recent?: { apps: number[]; since: number }) {
    this.detach = store.onCheckpoint(() => this.flush());
    for (const { key } of tables.open.getRange()) {
      const f = tables.sessions.get([key[0], key[1]]);
      if (f) this.remember(f);
    }
    for (const app of recent?.apps ?? []) {
      for (const { key } of tables.byStart.getRange({ start: [app, recent!.since], end: [app, Number.MAX_SAFE_INTEGER] })) {
        const f = tables.sessions.get([app, key[2]]);
        if (f) this.todaySums.update(sessionFactsKey(app, f.sessionId), f);
      }
    }
  }

  /** Turn `n` of an actor (the runtime calls this with the turn's events, in the turn's transaction). */
  apply(address: Address, events: readonly unknown[], n: number): void {
    const kind = kindOf(address);
    if (kind === 'session') {
      const [app, csAccount, userId] = parseId(idOf(address), 3);
      const who = { app: Number(app), csAccount, userId };
      const get = (id: string) => this.facts(who.app, id);
      for (const e of events as SessionEvent[]) {
        const f = foldSession(get, who, e);
        // Receptions start on acceptance (a forward only ends one).
        if (f) this.save(f, e.type === 'SessionBegin', e.type === 'TransferToHumanSuccess');
      }
    } else if (kind === 'agent') {
      const [app, memberId] = parseId(idOf(address), 2);
      (events as AgentEvent[]).forEach((e, i) => {
        const change = foldAgent(e);
        if (!change) return;
        const key: [number, string, number, number, number] = [Number(app), memberId, change.at, n, i];
        this.store.write(() => this.tables.status.putSync(key, change));
      });
    }
  }

  /** A session's facts: as changed (not yet written), open, recently used, or as stored. */
  facts(app: number, sessionId: string): SessionFacts | undefined {
    const key = sessionFactsKey(app, sessionId);
    let f = this.dirty.get(key) ?? this.openFacts.get(app)?.get(sessionId) ?? this.cache.get(key);
    if (!f) {
      f = this.tables.sessions.get([app, sessionId]);
      if (f) this.cacheIt(key, f);
    }
    return f;
  }

  /** Sessions of an app not ended yet. */
  openSessions(app: number): Iterable<SessionFacts> {
    return this.openFacts.get(app)?.values() ?? [];
  }

  private save(f: SessionFacts, begun: boolean, received: boolean): void {
    const key = sessionFactsKey(f.app, f.sessionId);
    if (f.untraced) {
      this.forget(key, f);
      return;
    }
    this.dirty.set(key, f);
    this.todayStale.set(key, f);
    const t = this.tables;
    const { app, sessionId, startedAt } = f;
    const r = received ? f.receptions[f.receptions.length - 1] : undefined;
    const ended = f.endedAt !== undefined;
    if (begun || r || ended) {
      this.store.write(() => {
        if (begun) {
          t.byStart.putSync([app, startedAt, sessionId], 1);
          t.open.putSync([app, sessionId], 1);
        }
        if (r) t.byAgent.putSync([app, r.agentId, r.start, sessionId], 1);
        if (ended) t.open.removeSync([app, sessionId]);
      });
    }
    // Open sessions' facts are at hand in `openFacts`; ended ones join the cache.
    if (!ended) this.remember(f);
    else {
      this.openFacts.get(f.app)?.delete(f.sessionId);
      this.cacheIt(key, f);
    }
  }

  /** A session that leaves no record: its facts and index rows go. */
  private forget(key: string, f: SessionFacts): void {
    this.dirty.delete(key);
    this.todayStale.delete(key);
    this.todaySums.remove(key);
    this.cache.delete(key);
    this.openFacts.get(f.app)?.delete(f.sessionId);
    const t = this.tables;
    const { app, sessionId, startedAt } = f;
    this.store.write(() => {
      t.sessions.removeSync([app, sessionId]);
      t.byStart.removeSync([app, startedAt, sessionId]);
      t.open.removeSync([app, sessionId]);
    });
  }

  /** Queues the changed facts as they are now (a checkpoint; the turns after it are folded again at start). */
  flush(): void {
    for (const [key, f] of this.dirty) {
      // Facts are flat but for their receptions: a copy this shallow is the snapshot, and far cheaper than structuredClone.
      const copy: SessionFacts = { ...f, receptions: f.receptions.map((r) => ({ ...r })) };
      this.store.write(() => this.tables.sessions.putSync([copy.app, copy.sessionId], copy));
    }
    this.dirty.clear();
  }

  /** The monitor's "today" sums, with the facts changed since the last read counted once each. */
  get today(): TodayCounters {
    for (const [key, f] of this.todayStale) this.todaySums.update(key, f);
    this.todayStale.clear();
    return this.todaySums;
  }

  private remember(f: SessionFacts): void {
    let m = this.openFacts.get(f.app);
    if (!m) this.openFacts.set(f.app, (m = new Map()));
    m.set(f.sessionId, f);
  }

  private cacheIt(key: string, f: SessionFacts): void {
    if (this.cache.size >= FACTS_CACHE && !this.cache.has(key)) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, f);
  }
}
