/**
 * A small actor for runtime tests: counts `inc`s, answers `get`, pushes counts, forwards an `inc` as a durable send,
 * arms timers, makes callbacks.
 */
import type { ActorDef } from '../../actors/types';

export interface Counter { n: number; fired: string[] }
export type CounterMsg =
  | { type: 'inc'; replyTo?: never }
  | { type: 'get'; replyTo: { call: number } }
  | { type: 'incAndTell'; replyTo: { call: number } }
  | { type: 'boom'; replyTo?: { call: number } }
  | { type: 'poison'; depth: number; disarm?: string; replyTo: { call: number } }
  | { type: 'arm'; key: string; at: number }
  | { type: 'forward'; to: string }
  | { type: 'notify'; key: string }
  | { type: '$timer'; key: string };

export const counter: ActorDef<Counter, CounterMsg, { type: 'inc' } | { type: 'fired'; key: string }> = {
  kind: 'counter',
  initial: () => ({ n: 0, fired: [] }),
  decide(s, m) {
    switch (m.type) {
      case 'inc': return { events: [{ type: 'inc' }], effects: [] };
      case 'get': return { events: [], effects: [{ t: 'reply', replyTo: m.replyTo, ok: true, data: s.n }] };
      // An inc that pushes the new count to a user and answers with it.
      case 'incAndTell': return {
        events: [{ type: 'inc' }],
        effects: [
          { t: 'push', to: { role: 'user', app: 1, id: 'watcher' }, frame: { type: 'pong', data: { n: s.n + 1 } } },
          { t: 'reply', replyTo: m.replyTo, ok: true, data: s.n + 1 },
        ],
      };
      case 'boom': throw new Error('boom');
      case 'poison': {
        // An event too deep to encode, after a wake-up moved and another cancelled in the same turn.
        let deep: unknown = 1;
        for (let i = 0; i < m.depth; i++) deep = { a: deep };
        return {
          events: [{ type: 'inc' }, { type: 'fired', key: deep as string }],
          effects: [{ t: 'timer', key: 'k', at: 1 }, ...(m.disarm ? [{ t: 'cancelTimer' as const, key: m.disarm }] : []), { t: 'reply', replyTo: m.replyTo, ok: true }],
        };
      }
      case 'arm': return { events: [], effects: [{ t: 'timer', key: m.key, at: m.at }] };
      case 'forward': return { events: [{ type: 'inc' }], effects: [{ t: 'send', to: m.to, msg: { type: 'inc' } }] };
      case 'notify': return { events: [{ type: 'inc' }], effects: [{ t: 'callback', app: 1, key: m.key, command: 'Test.Notify', body: { key: m.key } }] };
      case '$timer': return { events: [{ type: 'fired', key: m.key }], effects: [] };
    }
  },
  evolve: (s, e) => (e.type === 'inc' ? { ...s, n: s.n + 1 } : { ...s, fired: [...s.fired, e.key] }),
};
