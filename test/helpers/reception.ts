/**
 * The reception-limit property test's parts (test/sim/property.test.ts, and on a cluster of runtimes with random
 * kills, test/runtime/cluster-property.test.ts): the app (groups, accounts, members with random limits), the random
 * commands and how one is carried out, and the invariants checked whenever nothing is pending.
 */
import fc from 'fast-check';
import type { AgentState } from '../../actors/agent';
import type { QueueState } from '../../actors/queue';
import type { SessionState } from '../../actors/session';
import { sessionAddress, agentAddress } from '../../actors/address';
import type { Address } from '../../actors/types';
import { receptionLimit, type AppModel } from '../../protocol/app-model';
import { APP, srcBody, textBody, type SimOptions } from './sim';

export const GROUPS = [1, 2, 3];
export const ACCOUNTS = ['cs-1', 'cs-2', 'cs-3']; // bound to groups 1, 2, 3
export const MEMBERS = ['m0@desk.test', 'm1@desk.test', 'm2@desk.test', 'm3@desk.test'];
export const USERS = 6;


export const config = fc.record({
  // m0 and m1 are in two or three groups; m2 and m3 in one or more.
  groups: fc.tuple(
    fc.subarray(GROUPS, { minLength: 2 }), fc.subarray(GROUPS, { minLength: 2 }),
    fc.subarray(GROUPS, { minLength: 1 }), fc.subarray(GROUPS, { minLength: 1 }),
  ),
  limits: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  manual: fc.boolean(),
  restAfterAcceptTimeout: fc.boolean(),
  acceptTimeoutSec: fc.integer({ min: 5, max: 60 }),
  seed: fc.integer(),
});

/** A command; `then` deliveries follow it, so commands and deliveries interleave. */
export type Cmd =
  | { k: 'user'; u: number; cs: number; what: 'enter' | 'human' | 'say' | 'end' | 'offline' | 'online'; then: number }
  | { k: 'agent'; m: number; what: 'connect' | 'disconnect' | 'free' | 'busy' | 'rest' | 'offline'; then: number }
  /** An action of the serving agent on the `pick`-th session that has one. */
  | { k: 'session'; pick: number; what: 'accept' | 'end' | 'suspend' | 'unsuspend' | 'say' | 'transfer'; group: number; target: number; then: number }
  | { k: 'advance'; ms: number; then: number };

const then = fc.integer({ min: 0, max: 12 });
export const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('user' as const), u: fc.integer({ min: 0, max: USERS - 1 }), cs: fc.integer({ min: 0, max: 2 }), what: fc.constantFrom('enter', 'human', 'human', 'say', 'end', 'offline', 'online'), then }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('agent' as const), m: fc.integer({ min: 0, max: MEMBERS.length - 1 }), what: fc.constantFrom('connect', 'connect', 'disconnect', 'free', 'free', 'busy', 'rest', 'offline'), then }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('session' as const), pick: fc.nat(7), what: fc.constantFrom('accept', 'accept', 'end', 'suspend', 'unsuspend', 'say', 'transfer', 'transfer'), group: fc.integer({ min: 0, max: 3 }), target: fc.integer({ min: -1, max: MEMBERS.length - 1 }), then }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 150_000 }), then }) },
);

export type Config = typeof config extends fc.Arbitrary<infer C> ? C : never;

/** The app of a configuration: members in their groups with their limits, one account per group. */
export function appOptions(c: Config): SimOptions {
  return {
    members: MEMBERS.map((mail, i) => ({ mail, groupIds: c.groups[i], receptionLimit: c.limits[i] })),
    groups: GROUPS,
    account: { userTimeoutSec: 120 },
    accounts: Object.fromEntries(ACCOUNTS.map((id, i) => [id, { agentGroupId: GROUPS[i], userTimeoutSec: 120 }])),
    session: {
      receptionMode: c.manual ? 'manual' : 'auto', acceptTimeoutSec: c.acceptTimeoutSec, restAfterAcceptTimeout: c.restAfterAcceptTimeout,
      agentOfflineGraceSec: 30, queueOfflineGraceSec: 40, robotIdleTimeoutSec: 300,
    },
  };
}

export const limitOf = (app: AppModel, mail: string): number => receptionLimit(app, app.members[mail]);
export const held = (a: AgentState): string[] => Object.keys(a.sessions);
export const load = (a: AgentState): number => Object.values(a.sessions).filter((h) => !h.suspended).length;

/** The actors' states as the invariants read them: every actor that got a message (others hold nothing). */
export interface World {
  readonly app: AppModel;
  readonly states: ReadonlyMap<Address, unknown>;
  agent(mail: string): AgentState;
}

/** Where commands go: messages from outside to actors, and time. */
export interface Driver {
  readonly states: ReadonlyMap<Address, unknown>;
  tell(to: Address, msg: unknown): void;
  advance(ms: number): void;
}

/** Checked whenever nothing is pending. */
export function quietInvariants(sim: World): void {
  const holders = new Map<string, string[]>();
  for (const [addr, st] of sim.states) {
    if (!addr.startsWith('agent:')) continue;
    const a = st as AgentState;
    for (const id of held(a)) holders.set(id, [...(holders.get(id) ?? []), a.memberId]);
  }
  for (const [id, who] of holders) if (who.length > 1) throw new Error(`${id} is held by ${who.join(' and ')}`);

  const current = new Map<string, SessionState>();
  for (const [addr, st] of sim.states) {
    if (!addr.startsWith('session:')) continue;
    const s = st as SessionState;
    const c = s.cur;
    if (!c) continue;
    current.set(c.sessionId, s);
    if (c.phase === 'Agent' || c.phase === 'WaitingForAgentAnswering') {
      const who = holders.get(c.sessionId) ?? [];
      if (who.length !== 1 || who[0] !== c.agentId) throw new Error(`${c.sessionId} (${s.userId}) is ${c.phase} with ${c.agentId} but held by [${who.join(', ')}]`);
    }
    if (c.phase === 'Queueing') {
      const queues = [...sim.states].filter(([a, q]) => a.startsWith('queue:') && (q as QueueState).waiting.some((w) => w.sessionId === c.sessionId)).map(([a]) => a);
      if (queues.length !== 1) throw new Error(`${c.sessionId} (${s.userId}) is Queueing but waits in [${queues.join(', ')}]`);
    }
  }
  // Liveness: nothing waits in a queue while a member who could take it is free with room.
  for (const [addr, st] of sim.states) {
    if (!addr.startsWith('queue:')) continue;
    const q = st as QueueState;
    for (const w of q.waiting) {
      if (w.offeredTo) continue;
      for (const m of MEMBERS) {
        const a = sim.agent(m);
        if (!sim.app.members[m].groupIds.includes(q.groupId) || a.status !== 'free' || load(a) >= limitOf(sim.app, m)) continue;
        if (w.exclude.includes(m) || (w.agentIds && !w.agentIds.includes(m))) continue;
        throw new Error(`${w.sessionId} waits in ${addr} while ${m} is free with room (${load(a)}/${limitOf(sim.app, m)})`);
      }
    }
  }
  for (const [id, who] of holders) {
    const s = current.get(id);
    const c = s?.cur;
    if (!c || c.agentId !== who[0] || (c.phase !== 'Agent' && c.phase !== 'WaitingForAgentAnswering')) {
      throw new Error(`${who[0]} holds ${id}, but that session is ${c ? `${c.phase} with ${c.agentId}` : 'not current'}`);
    }
  }
}

export function execute(sim: Driver, c: Cmd, conns: number[][], next: { conn: number; random: number }): void {
  switch (c.k) {
    case 'user': {
      const to = sessionAddress(APP, ACCOUNTS[c.cs], `u${c.u}`);
      const send = (body: unknown) => sim.tell(to, { type: 'userSend', random: ++next.random, body });
      if (c.what === 'enter') send(srcBody('7'));
      else if (c.what === 'human') send(textBody('转人工'));
      else if (c.what === 'say') send(textBody('hello'));
      else if (c.what === 'end') send(srcBody('27'));
      else sim.tell(to, { type: c.what === 'offline' ? 'userOffline' : 'userOnline' });
      break;
    }
    case 'agent': {
      const mail = MEMBERS[c.m];
      if (c.what === 'connect') {
        conns[c.m].push(++next.conn);
        sim.tell(agentAddress(APP, mail), { type: 'connected', conn: next.conn });
      } else if (c.what === 'disconnect') {
        const conn = conns[c.m].shift();
        if (conn !== undefined) sim.tell(agentAddress(APP, mail), { type: 'disconnected', conn });
      } else sim.tell(agentAddress(APP, mail), { type: 'setStatus', status: c.what });
      break;
    }
    case 'session': {
      const served = [...sim.states].filter(([a, st]) => a.startsWith('session:') && (st as SessionState).cur?.agentId).sort(([a], [b]) => (a < b ? -1 : 1));
      if (served.length === 0) break;
      const [conv, st] = served[c.pick % served.length];
      const { sessionId, agentId } = (st as SessionState).cur!;
      const memberId = agentId!;
      if (c.what === 'say') sim.tell(conv, { type: 'agentSend', memberId, sessionId, random: ++next.random, body: textBody('hi') });
      else {
        sim.tell(conv, {
          type: 'agentAction', action: c.what, memberId, sessionId,
          groupId: c.what === 'transfer' && c.group > 0 ? c.group : undefined,
          targetMemberId: c.what === 'transfer' && c.target >= 0 ? MEMBERS[c.target] : undefined,
        });
      }
      break;
    }
    case 'advance':
      sim.advance(c.ms);
      break;
  }
}

