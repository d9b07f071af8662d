/**
 * reconnect: conversations in service while users and agents drop their sockets and reconnect mid-conversation,
 * catching up with history.sync from the last seq they saw. Nothing acknowledged may be lost; duplicates are
 * recognised by probe id (the client de-duplicates as a real one does by msgKey/seq).
 */
import type { ServerFrame } from '../../protocol/frames';
import { LoadSocket, frameText, type Target } from '../client';
import { CS } from '../proc';
import { Tracker, parseProbe } from '../stats';
import { agentName, baselineRun, desk, inService, now, pump, sleep, summarize, userName, type Options, type Pair, type Summary } from './common';

interface Endpoint { sock: LoadSocket; identity: string; role: 'user' | 'agent'; lastSeq: Map<string, number>; reconnects: number }

export async function reconnect(o: Options): Promise<Summary> {
  const { proc, target } = await desk(o, { maxConcurrentPerAgent: Math.ceil(o.users / o.agents) + 1, agentOfflineGraceSec: 60 });
  const tracker = new Tracker(now());
  let r;
  let drops = 0;
  const endpoints: Endpoint[] = [];
  try {
    const setup = await inService(target, o);
    const sessionOf = new Map<string, string>();
    for (const [userId, s] of setup.sessions) sessionOf.set(userId, s.sessionId);
    const onFrame = (ep: Endpoint) => (f: ServerFrame) => {
      if (f.type === 'message.ack') { tracker.ack((f.data as { random: number }).random); return; }
      if (f.type === 'history') {
        for (const m of (f.data as { messages: { seq: number; sessionId: string; body: unknown[] }[] }).messages) see(ep, { type: 'message', data: m });
        return;
      }
      see(ep, f);
    };
    const see = (ep: Endpoint, f: ServerFrame) => {
      const p = parseProbe(frameText(f));
      if (!p) return;
      const d = f.data as { seq: number; sessionId: string };
      const key = ep.role === 'user' ? CS : d.sessionId;
      ep.lastSeq.set(key, Math.max(ep.lastSeq.get(key) ?? 0, d.seq));
      tracker.deliver(p.id, p.sentMs, now());
    };
    const catchUp = (ep: Endpoint) => {
      if (ep.role === 'user') ep.sock.send('history.sync', { to: CS, afterSeq: ep.lastSeq.get(CS) ?? 0, limit: 1000 });
      else for (const sessionId of sessionOf.values()) {
        if (ownerOf.get(sessionId) === ep) ep.sock.send('history.sync', { sessionId, afterSeq: ep.lastSeq.get(sessionId) ?? 0, limit: 1000 });
      }
    };
    const ownerOf = new Map<string, Endpoint>();
    const agentEps = setup.agents.map((sock, i) => ({ sock, identity: agentName(i), role: 'agent' as const, lastSeq: new Map(), reconnects: 0 }));
    const userEps = setup.users.map((sock, i) => ({ sock, identity: userName(i), role: 'user' as const, lastSeq: new Map(), reconnects: 0 }));
    endpoints.push(...agentEps, ...userEps);
    for (const s of setup.sessions.values()) ownerOf.set(s.sessionId, agentEps[setup.agents.indexOf(s.agent)]);
    for (const ep of endpoints) ep.sock.onFrame = onFrame(ep);
    const pairs: Pair[] = userEps.map((u) => {
      const sessionId = sessionOf.get(u.identity)!;
      const agentEp = ownerOf.get(sessionId)!;
      return {
        a: u.sock, b: agentEp.sock,
        send(side, id, body) {
          if (side === 'a') u.sock.send('message.send', { to: CS, random: id, body });
          else agentEp.sock.send('message.send', { sessionId, random: id, body });
        },
      };
    });
    let running = true;
    const chaos = (async () => {
      let k = 0;
      while (running) {
        await sleep(200);
        if (!running) break;
        const ep = endpoints[(k++ * 7919) % endpoints.length];
        drops++;
        ep.sock.close();
        ep.sock = await LoadSocket.desk(target as Target, ep.identity, ep.role);
        ep.sock.onFrame = onFrame(ep);
        ep.reconnects++;
        catchUp(ep);
      }
    })();
    r = await pump(pairs, o, tracker, proc.pid, true);
    running = false;
    await chaos;
    for (const ep of endpoints) catchUp(ep);
    const end = Date.now() + 10_000;
    while (tracker.lost(tracker.acked) > 0 && Date.now() < end) await sleep(50);
    r = { ...r, messages: tracker.delivered.size, lost: tracker.lost(tracker.acked), duplicates: tracker.duplicates };
  } finally {
    for (const ep of endpoints) ep.sock.close();
    await proc.stop();
  }
  const base = o.baseline ? await baselineRun(o, o.users, r.sent, o.rate) : undefined;
  return summarize('reconnect', o, r, base, { drops, reconnects: endpoints.reduce((n, e) => n + e.reconnects, 0) });
}
