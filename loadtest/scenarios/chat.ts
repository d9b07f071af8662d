/**
 * chat: users go through the whole path — session start, robot, transfer, queue, assignment, K probes each way,
 * end, rating — against fewer agents than users.
 */
import * as hdr from 'hdr-histogram-js';
import { LoadSocket, frameText, src, srcOf, text } from '../client';
import { clusterFigures, CS, hopCounter, meter, type ClusterRun } from '../proc';
import { parseProbe, probeText, Tracker } from '../stats';
import { agentName, askingAgain, baselineRun, desk, now, result, round, summarize, until, userName, type Options, type RunResult, type Summary } from './common';

let probeId = 1_000_000_000;

/** `unfinished`: when the run timed out, how many conversations stopped at each step. */
interface ChatRun { r: RunResult; finished: number; rated: number; limit: number; assignment: hdr.Histogram; cluster?: ClusterRun; unfinished?: Record<string, number> }

export async function chat(o: Options): Promise<Summary> {
  const { r, finished, rated, limit, assignment, cluster, unfinished } = await run(o, o.nodes);
  const base = o.baseline ? await baselineRun(o, Math.min(o.users, 100), r.sent, Math.max(100, Math.round(r.mps))) : undefined;
  // What the hops between nodes cost: the same conversations on a one-node cluster.
  const one = o.nodes > 1 ? await run(o, 1) : undefined;
  const pct = (p: number) => (assignment.totalCount ? round(assignment.getValueAtPercentile(p) / 1000) : 0);
  return summarize('chat', o, r, base, {
    conversations: o.users, finished, rated, agents: o.agents, limit_per_agent: limit, ...(unfinished ? { unfinished } : {}),
    // The whole path (start, robot, transfer, queue, prompts, end, rating) per conversation, next to per message.
    server_cpu_ms_per_conversation: finished ? round((r.cpu_us_per_msg * r.messages) / finished / 1000) : 0,
    assignment_p50_ms: pct(50), assignment_p95_ms: pct(95), assignment_p99_ms: pct(99),
    ...(cluster ? { cluster: clusterFigures(cluster, one?.r.cpu_us_per_msg) } : {}),
  });
}

/** One run against Desk: `nodes` 0 is one server; otherwise a cluster of that many nodes. */
async function run(o: Options, nodes: number): Promise<ChatRun> {
  const limit = Math.max(1, Math.ceil(o.users / o.agents / 2));
  const { proc, target } = await desk(o, { maxConcurrentPerAgent: limit }, nodes);
  const tracker = new Tracker(now());
  const assignment = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  const requestedAt = new Map<string, number>();
  let finished = 0;
  let rated = 0;
  let r: RunResult;
  const started = now();
  const used = meter(proc.pids);
  const hops = nodes > 0 ? await hopCounter(proc) : undefined;
  let cluster: ClusterRun | undefined;
  let unfinished: Record<string, number> | undefined;
  const sockets: LoadSocket[] = [];
  try {
    const replies = new Map<string, number>();
    for (let i = 0; i < o.agents; i++) {
      const a = await LoadSocket.desk(target, agentName(i), 'agent');
      sockets.push(a);
      a.onFrame = (f) => {
        if (f.type === 'message.ack') { tracker.ack((f.data as { random: number }).random); return; }
        if (f.type === 'session.assigned') {
          const d = f.data as { userId: string; sessionId: string };
          const t0 = requestedAt.get(d.userId);
          if (t0 !== undefined) assignment.recordValue(Math.max(1, Math.round((now() - t0) * 1000)));
          replies.set(d.sessionId, 0);
          return;
        }
        const p = parseProbe(frameText(f));
        if (!p) return;
        tracker.deliver(p.id, p.sentMs, now());
        const sessionId = (f.data as { sessionId: string }).sessionId;
        const n = (replies.get(sessionId) ?? 0) + 1;
        replies.set(sessionId, n);
        const id = probeId++;
        a.send('message.send', { sessionId, random: id, body: text(probeText(id, now(), o.size)) });
        tracker.send();
        if (n >= o.messages) a.send('session.end', { sessionId });
      };
    }
    // Where each conversation is, to say where unfinished ones stopped.
    const steps: string[] = [];
    const conversation = async (i: number): Promise<void> => {
      const u = await LoadSocket.desk(target, userName(i), 'user');
      sockets.push(u);
      let sent = 0;
      const mine: number[] = [];
      let step: 'welcome' | 'robot' | 'human' | 'talk' | 'rate' | 'done' = 'welcome';
      // Randoms 1–4 are the steps' own; asking again for a human uses 5 on.
      const toldNobody = askingAgain(u, 4);
      const sendProbe = () => {
        const id = probeId++;
        mine.push(id);
        sent++;
        tracker.send();
        u.send('message.send', { to: CS, random: id, body: text(probeText(id, now(), o.size)) });
      };
      await new Promise<void>((resolve) => {
        u.onFrame = (f) => {
          steps[i] = step;
          if (f.type === 'message.ack') { tracker.ack((f.data as { random: number }).random); return; }
          if (f.type === 'message.edit' && step === 'rate') { step = 'done'; rated++; resolve(); return; }
          if (f.type !== 'message') return;
          const t = frameText(f);
          const p = parseProbe(t);
          if (p) {
            tracker.deliver(p.id, p.sentMs, now());
            if (sent < o.messages) sendProbe();
            return;
          }
          if (step === 'welcome' && t) { step = 'robot'; u.send('message.send', { to: CS, random: 2, body: text('hello') }); return; }
          if (step === 'robot' && t && t.startsWith('抱歉')) {
            step = 'human';
            requestedAt.set(userName(i), now());
            u.send('message.send', { to: CS, random: 3, body: text('转人工') });
            return;
          }
          if (step === 'human' && t && t.startsWith('转接人工成功')) { step = 'talk'; sendProbe(); return; }
          if (step === 'human' && toldNobody(f)) return;
          if (srcOf(f) === '9') {
            step = 'rate';
            const card = JSON.parse((f.data as { body: { MsgContent: { Data: string } }[] }).body[0].MsgContent.Data);
            u.send('message.send', { to: CS, random: 4, body: src('10', { menuSelected: { id: '105', content: '非常满意', sessionId: card.menuContent.sessionId } }) });
          }
        };
        u.send('message.send', { to: CS, random: 1, body: src('7') });
      });
      // On a cluster an acknowledgement (a reply from the session's node) may come after the pushes that followed it
      // (by recipient interest): the socket stays open until its own probes are acknowledged.
      await until(() => mine.every((id) => tracker.acked.has(id)), 10_000);
      steps[i] = 'finished';
      finished++;
      o.progress(finished, o.users);
      u.close();
    };
    const all: Promise<void>[] = [];
    for (let i = 0; i < o.users; i++) all.push(conversation(i));
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      Promise.all(all).then(() => true),
      new Promise<boolean>((res) => { timer = setTimeout(() => res(false), Math.max(60_000, o.durationSec * 1000 * 6)); }),
    ]);
    clearTimeout(timer);
    // The agents' last acknowledgements may still be on their way (their sockets stay open until the end).
    await until(() => tracker.acked.size >= tracker.sent, 10_000);
    await until(() => tracker.delivered.size >= tracker.acked.size, 10_000);
    r = result(tracker, used(), (now() - started) / 1000);
    if (!done) {
      r.lost += (o.users - finished) * o.messages * 2;
      const at: Record<string, number> = {};
      for (let i = 0; i < o.users; i++) if (steps[i] !== 'finished') at[steps[i] ?? 'connecting'] = (at[steps[i] ?? 'connecting'] ?? 0) + 1;
      unfinished = at;
    }
    cluster = hops && await hops(r.messages);
  } finally {
    for (const s of sockets) s.close();
    await proc.stop();
  }
  return { r, finished, rated, limit, assignment, cluster, unfinished };
}
