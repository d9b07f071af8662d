/**
 * Property test over random schedules: several groups (one queue each) sharing members, random reception limits,
 * users asking for humans and leaving, agents changing status, accepting, ending, suspending, forwarding, and
 * accept timeouts on the manual clock — with deliveries in FIFO order or in a seeded random interleaving.
 *
 * Invariants:
 * - at every step, no agent holds more non-suspended sessions than its limit;
 * - when a queue reports a session assigned, that agent holds it;
 * - whenever the system is quiet: no session is held by two agents, every session in service or waiting for an
 *   accept is held by exactly its agent, every held session is such a session, every queued session waits
 *   in exactly one queue, and nothing waits while a member who may take it is free with room.
 */
import fc from 'fast-check';
import t from 'tap';
import type { AgentState } from '../../actors/agent';
import { Sim, type Step } from '../helpers/sim';
import { appOptions, cmd, config, execute, held, limitOf, load, MEMBERS, quietInvariants, type Config } from '../helpers/reception';

const RUNS = 200;

function build(c: Config, random: boolean): Sim {
  const sim = new Sim({ ...appOptions(c), order: random ? { seed: c.seed } : 'fifo' });
  sim.settleTimers = false; // timers only enqueue: their deliveries interleave with everything else
  return sim;
}

/** Checked after every delivery. */
function stepInvariants(sim: Sim, s: Step): void {
  if (s.to.startsWith('agent:')) {
    const a = sim.state<AgentState>(s.to);
    if (load(a) > limitOf(sim.app, a.memberId)) throw new Error(`${a.memberId} holds ${load(a)} sessions over its limit ${limitOf(sim.app, a.memberId)}: ${held(a)}`);
  }
  if (s.to.startsWith('queue:')) {
    for (const e of s.effects) {
      if (e.t !== 'send' || (e.msg as { type: string }).type !== 'assigned') continue;
      const { sessionId, memberId } = e.msg as { sessionId: string; memberId: string };
      if (!sim.agent(memberId).sessions[sessionId]) throw new Error(`${s.to} assigned ${sessionId} to ${memberId}, who does not hold it`);
    }
  }
}

function scenario(random: boolean, receptionMode?: 'auto' | 'manual') {
  const conf = receptionMode === undefined ? config : config.map((c) => ({ ...c, manual: receptionMode === 'manual' }));
  return fc.property(conf, fc.array(cmd, { minLength: 5, maxLength: 60 }), (c, cmds) => {
    const sim = build(c, random);
    sim.onStep = (s) => stepInvariants(sim, s);
    const conns: number[][] = MEMBERS.map(() => []);
    const next = { conn: 0, random: 0 };
    for (const m of cmds) {
      execute(sim, m, conns, next);
      for (let i = 0; i < m.then && sim.step(); i++);
      if (sim.idle) quietInvariants(sim);
    }
    sim.run(20_000);
    quietInvariants(sim);
    // Let every timer run out, then check once more.
    sim.advance(3600_000);
    sim.run(20_000);
    quietInvariants(sim);
  });
}

/** Runs the property; returns fast-check's report (counterexample and the broken invariant) on failure. */
function failureOf(random: boolean, receptionMode?: 'auto' | 'manual'): string | undefined {
  try {
    fc.assert(scenario(random, receptionMode), { numRuns: RUNS, seed: 20260105 });
    return undefined;
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause;
    return `${cause ? `${cause.message}\n` : ''}${(err as Error).message}`.slice(0, 4000);
  }
}

t.test('invariants hold under FIFO delivery (the embedded runtime)', async (t) => {
  const failure = failureOf(false);
  if (failure) t.fail(failure);
  else t.pass(`${RUNS} random schedules`);
});

// Deliveries from different senders may be reordered, as in a cluster (per-sender order kept), so a re-offer can
// overtake the release of the previous offer of the same session (see test/sim/reoffer.test.ts).
t.test('invariants hold under seeded random interleavings of deliveries (per-sender order kept)', async (t) => {
  const failure = failureOf(true);
  if (failure) t.fail(failure);
  else t.pass(`${RUNS} random schedules`);
});

// The same with auto reception, which has no accept timeouts and no offers to revoke.
t.test('invariants hold under seeded random interleavings with auto reception', async (t) => {
  const failure = failureOf(true, 'auto');
  if (failure) t.fail(failure);
  else t.pass(`${RUNS} random schedules`);
});
