/**
 * burst: many users ask for a human at once against few agents with one slot each. Reports the time to drain the
 * queue and whether it was served in arrival order (priority is equal, so arrival decides).
 */
import { LoadSocket, frameText, src, text } from '../client';
import { CS, meter } from '../proc';
import { Tracker, probeText, parseProbe } from '../stats';
import { agentName, baselineRun, desk, now, result, round, summarize, until, userName, type Options, type Summary } from './common';

export async function burst(o: Options): Promise<Summary> {
  const { proc, target } = await desk(o, { maxConcurrentPerAgent: 1 });
  const tracker = new Tracker(now());
  const queuedAt = new Map<string, { at: number; position: number }>();
  const assignedOrder: string[] = [];
  const sockets: LoadSocket[] = [];
  let firstRequest = 0;
  let lastAssigned = 0;
  let maxPosition = 0;
  let nextId = 2_000_000_000;
  const used = meter(proc.pid);
  const started = now();
  let usage = { cpuUs: 0, diskBytes: 0 };
  try {
    for (let i = 0; i < o.agents; i++) {
      const a = await LoadSocket.desk(target, agentName(i), 'agent');
      sockets.push(a);
      a.onFrame = (f) => {
        if (f.type === 'message.ack') { tracker.ack((f.data as { random: number }).random); return; }
        if (f.type !== 'session.assigned') return;
        const d = f.data as { userId: string; sessionId: string };
        assignedOrder.push(d.userId);
        lastAssigned = now();
        o.progress(assignedOrder.length, o.users);
        const id = nextId++;
        tracker.send();
        a.send('message.send', { sessionId: d.sessionId, random: id, body: text(probeText(id, now(), o.size)) });
        a.send('session.end', { sessionId: d.sessionId });
      };
    }
    const users = await Promise.all(Array.from({ length: o.users }, (_, i) => LoadSocket.desk(target, userName(i), 'user')));
    sockets.push(...users);
    users.forEach((u, i) => {
      u.onFrame = (f) => {
        const t = frameText(f);
        const p = parseProbe(t);
        if (p) { tracker.deliver(p.id, p.sentMs, now()); return; }
        const m = t ? /第(\d+)位/.exec(t) : null;
        if (m) {
          queuedAt.set(userName(i), { at: now(), position: Number(m[1]) });
          maxPosition = Math.max(maxPosition, Number(m[1]));
        }
      };
      u.send('message.send', { to: CS, random: 1, body: src('7') });
    });
    await until(() => false, 300);
    firstRequest = now();
    users.forEach((u) => u.send('message.send', { to: CS, random: 2, body: text('转人工') }));
    await until(() => assignedOrder.length >= o.users, 120_000);
    await until(() => tracker.delivered.size >= tracker.acked.size, 5_000);
    usage = used();
  } finally {
    for (const s of sockets) s.close();
    await proc.stop();
  }
  const elapsed = (now() - started) / 1000;
  // Arrival order of the queued users is the order their queue prompts came back; count pairs served out of it.
  // Prompts read in one go (within SAME_READ_MS) left the server together, and the order the client reads its
  // sockets in says nothing: their queue positions, worked out against the same queue, order them instead.
  const queued = assignedOrder.filter((u) => queuedAt.has(u));
  const SAME_READ_MS = 2;
  const servedOutOfOrder = (a: { at: number; position: number }, b: { at: number; position: number }): boolean =>
    a.at - b.at > SAME_READ_MS || (Math.abs(a.at - b.at) <= SAME_READ_MS && a.position > b.position);
  let inversions = 0;
  for (let i = 0; i < queued.length; i++) for (let j = i + 1; j < queued.length; j++) if (servedOutOfOrder(queuedAt.get(queued[i])!, queuedAt.get(queued[j])!)) inversions++;
  const r = result(tracker, usage, elapsed, { lost: tracker.lost(tracker.acked) + (o.users - assignedOrder.length) });
  const base = o.baseline ? await baselineRun(o, Math.min(o.users, 100), Math.max(1, r.sent), Math.max(100, Math.round(r.mps))) : undefined;
  return summarize('burst', o, r, base, {
    users: o.users, agents: o.agents, assigned: assignedOrder.length, queued: queued.length, max_queue_position: maxPosition,
    drain_ms: round(lastAssigned - firstRequest), order_inversions: inversions,
    server_cpu_us_per_assignment: assignedOrder.length ? round(usage.cpuUs / assignedOrder.length) : 0,
  });
}
