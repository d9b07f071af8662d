/**
 * A scripted day of traffic on the manual clock, projected and queried, against figures worked out by hand
 * (product.md §8). Monday 2026-01-05, Asia/Shanghai; T0 is 10:00:00 local.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { StatsProjection } from '../../src/stats/projection';
import { agentStatistics, daysOf, memberRealtime, receptionRealtime, sessionStatistics, startOfDay, todayFigures } from '../../src/stats/queries';
import { Store } from '../../src/store/store';
import { APP, Sim, T0 } from '../helpers/sim';

const A = 'alice@desk.test';
const B = 'bob@desk.test';
const TZ = 'Asia/Shanghai';
const S = 1000;
const MIN = 60 * S;
/** Local time on the day of T0 (10:00 = T0), or the next day. */
const at = (h: number, m: number, s = 0, day = 0): number => T0 + ((h - 10) * 3600 + m * 60 + s) * S + day * 86_400_000;

/** Runs the script: every step at its local time. */
function day(): Sim {
  const sim = new Sim({ session: { satisfaction: { invitationMethod: 1 } } });
  const to = (when: number) => sim.advance(when - sim.now);
  /** The agent ends the user's session at `endAt`; the user rates it `level` stars at `rateAt`. */
  const endAndRate = (agent: string, user: string, endAt: number, rateAt: number, level: number) => {
    const sessionId = sim.sid(user);
    to(endAt); sim.act(agent, user, 'end');
    to(rateAt); sim.src(user, '10', { menuSelected: { id: String(100 + level), sessionId } });
  };
  const aliceConn = sim.connect(A); // 10:00:00, login
  // S1 (u1): accepted at once; replies after 40 s (first), then responses of 30 s and 10 s; alice ends; rated 5.
  sim.enter('u1');
  to(at(10, 0, 10)); sim.say('u1', '人工');
  to(at(10, 0, 20)); sim.say('u1', 'my order is late');
  to(at(10, 0, 50)); sim.agentSay(A, 'u1', 'let me check');
  to(at(10, 1, 0)); sim.say('u1', 'thanks');
  to(at(10, 1, 10)); sim.agentSay(A, 'u1', 'it ships today');
  endAndRate(A, 'u1', at(10, 2, 10), at(10, 2, 20), 5);
  // S2 (u2): accepted, never answered; the user leaves.
  to(at(10, 5, 0)); sim.say('u2', 'hi');
  to(at(10, 5, 30)); sim.say('u2', '人工');
  to(at(10, 6, 0)); sim.say('u2', 'hello?');
  to(at(10, 10, 0)); sim.src('u2', '27');
  // S3 (u3): queued while alice is busy (300 s), served, forwarded to bob, rated 3 (bob's).
  to(at(10, 15, 0)); sim.status(A, 'busy');
  to(at(10, 20, 0)); sim.enter('u3');
  to(at(10, 20, 10)); sim.say('u3', '人工');
  to(at(10, 25, 10)); sim.status(A, 'free');
  to(at(10, 25, 40)); sim.agentSay(A, 'u3', 'hello');
  to(at(10, 26, 0)); sim.say('u3', 'I need an invoice');
  to(at(10, 26, 20)); sim.agentSay(A, 'u3', 'one moment');
  to(at(10, 26, 30)); sim.connect(B);
  to(at(10, 27, 0)); sim.act(A, 'u3', 'transfer', { targetMemberId: B });
  to(at(10, 27, 30)); sim.say('u3', 'still there?');
  to(at(10, 28, 0)); sim.agentSay(B, 'u3', 'yes, sending it');
  endAndRate(B, 'u3', at(10, 30, 0), at(10, 30, 10), 3);
  // S4 (u4): the robot only; ends idle at 11:10.
  to(at(10, 40, 0)); sim.say('u4', 'hi');
  // alice leaves at 18:00 and is offline after the 60 s grace.
  to(at(18, 0, 0)); sim.disconnect(A, aliceConn);
  // S5 (u5): across midnight with bob.
  to(at(23, 59, 0)); sim.enter('u5');
  to(at(23, 59, 30)); sim.say('u5', '人工');
  to(at(0, 0, 0, 1)); sim.say('u5', 'are you there');
  to(at(0, 0, 30, 1)); sim.agentSay(B, 'u5', 'good evening');
  to(at(0, 2, 0, 1)); sim.src('u5', '27');
  return sim;
}

async function projected(t: { teardown(fn: () => unknown): void }, sim: Sim): Promise<StatsProjection> {
  const store = new Store(fs.mkdtempSync(path.join(os.tmpdir(), 'desk-stats-')), 'none');
  t.teardown(() => store.close());
  const p = new StatsProjection(store);
  const turns = new Map<string, number>();
  for (const step of sim.trace) {
    if (step.events.length === 0) continue;
    const n = (turns.get(step.to) ?? 0) + 1;
    turns.set(step.to, n);
    p.apply(step.to, step.events, n);
  }
  await store.commit();
  return p;
}

const dayStart = startOfDay(T0, TZ);
const dayEnd = dayStart + 86_400_000 - 1;

t.test('the script ran as written', async (t) => {
  const sim = day();
  t.equal(new Date(dayStart).toISOString(), '2026-01-04T16:00:00.000Z', 'local midnight');
  t.equal(sim.phase('u5'), 'NotInSession');
  t.match(sim.events(sim.conv('u3'), 'AgentForward'), [{ from: A, to: B }]);
  t.match(sim.events(sim.conv('u4'), 'SessionEnded'), [{ endStatus: 'ChatbotReception', at: at(11, 10) }]);
});

t.test('session analysis of the day, by hand', async (t) => {
  const p = await projected(t, day());
  t.same(sessionStatistics(p, APP, dayStart, dayEnd, 'day', TZ), [{
    Time: '2026-01-05',
    TotalSessionCnt: 5, // S1–S5 started that day (S5 at 23:59)
    TransferAgentSessionCnt: 4, // S4 never asked for a human
    AgentAcceptCnt: 4,
    EffectiveSessionCnt: 3, // S2: no agent message
    SatisfactionSelectedCnt: 2, OneStarSelectedCnt: 0, TwoStarSelectedCnt: 0, ThreeStarSelectedCnt: 1, FourStarSelectedCnt: 0, FiveStarSelectedCnt: 1,
    AvgFirstRespTime: 43, // (40 + 30 + 60) / 3; S2 has none and is left out
    AvgRespTime: 25, // S1 (30+10)/2 = 20, S3 (20+30)/2 = 25, S5 30
    AvgAcceptTime: 208, // (120 + 270 + 290 + 150) / 4 = 207.5
    AvgQueueTime: 75, // (0 + 0 + 300 + 0) / 4
  }]);
  t.same(sessionStatistics(p, APP, dayStart, dayEnd, 'hour', TZ).map((r) => [r.Time, r.TotalSessionCnt]), [['10:00', 4], ['23:00', 1]], 'by hour, as the docs write it ("09:00")');
  t.same(sessionStatistics(p, APP, dayStart - 86_400_000, dayEnd, 'hour', TZ).map((r) => r.Time), ['2026-01-05 10:00', '2026-01-05 23:00'], 'over several days an hour carries its date');
  t.same(sessionStatistics(p, APP, dayEnd + 1, dayEnd + 86_400_000, 'day', TZ), [], 'S5 belongs to the day it started');
});

t.test('agent analysis of the day, by hand: forwards, unanswered sessions, status time, midnight', async (t) => {
  const sim = day();
  const p = await projected(t, sim);
  const [alice, bob] = agentStatistics(p, APP, [{ id: A, nickname: 'alice' }, { id: B, nickname: 'bob' }], dayStart, dayEnd, sim.now);
  t.same(alice, {
    AgentId: A, AgentNickName: 'alice',
    FirstLoginTimestamp: at(10, 0) / S, LastLogoutTimestamp: at(18, 1) / S,
    FreeTime: 15 * 60 + (at(18, 1) - at(10, 25, 10)) / S, // 10:00–10:15 and 10:25:10–18:01
    BusyTime: 610, RestTime: 0,
    FreeTimeRate: 0.9789, BusyTimeRate: 0.0211, RestTimeRate: 0, // 28250 and 610 of 28860 s online
    TotalSessionCnt: 3, TransferSessionCnt: 1, EffectiveSessionCnt: 2, AgentEndCnt: 1, ServeUserCnt: 3,
    TotalAcceptTime: 120 + 270 + 110, // S3 until the forward at 10:27
    TotalMsgCnt: 8, AgentMsgCnt: 4, UserMsgCnt: 4,
    NotRespSessionCnt: 1, // S2
    AvgFirstRespTime: 35, FirstRespUnder30sCnt: 1, // 40 s and 30 s
    AvgRespTime: 20, AvgRespUnder30sCnt: 2, // S1 20 s, S3 20 s
    AvgAcceptTime: 167, // 500 / 3
    SatisfactionSelectedCnt: 1, SatisfiedCnt: 1, // S1's 5 stars; S3's rating is bob's
    NotRespSessionRate: 0.3333, FirstRespUnder30sRate: 0.3333, AvgRespUnder30sRate: 0.6667, SatisfactionRate: 1,
  });
  t.same(bob, {
    AgentId: B, AgentNickName: 'bob',
    FirstLoginTimestamp: at(10, 26, 30) / S, LastLogoutTimestamp: 0,
    FreeTime: (dayEnd + 1 - at(10, 26, 30)) / S, BusyTime: 0, RestTime: 0,
    FreeTimeRate: 1, BusyTimeRate: 0, RestTimeRate: 0,
    TotalSessionCnt: 2, TransferSessionCnt: 0, EffectiveSessionCnt: 2, AgentEndCnt: 1, ServeUserCnt: 2,
    TotalAcceptTime: 180 + 150, // S5 runs past midnight: its reception started that day
    TotalMsgCnt: 4, AgentMsgCnt: 2, UserMsgCnt: 2,
    NotRespSessionCnt: 0,
    AvgFirstRespTime: 60, FirstRespUnder30sCnt: 0,
    AvgRespTime: 30, AvgRespUnder30sCnt: 2,
    AvgAcceptTime: 165,
    SatisfactionSelectedCnt: 1, SatisfiedCnt: 0,
    NotRespSessionRate: 0, FirstRespUnder30sRate: 0, AvgRespUnder30sRate: 1, SatisfactionRate: 0,
  });
});

t.test('the monitor\'s "today so far" at noon, by hand', async (t) => {
  const p = await projected(t, day());
  t.same(todayFigures(p, APP, at(12, 0), TZ), {
    TransferAgentSessionCnt: 3, AgentAcceptCnt: 3, // S1–S3 (S5 comes at 23:59)
    AvgFirstRespTime: 35, AvgRespTime: 23, AvgQueueTime: 100, AvgAcceptTime: 227, // (40+30)/2, (20+25)/2, 300/3, (120+270+290)/3
    SatisfactionSelectedCnt: 2, OneStarSelectedCnt: 0, TwoStarSelectedCnt: 0, ThreeStarSelectedCnt: 1, FourStarSelectedCnt: 0, FiveStarSelectedCnt: 1,
    OneStarRate: 0, TwoStarRate: 0, ThreeStarRate: 0.5, FourStarRate: 0, FiveStarRate: 0.5,
  });
});

t.test('realtime: sessions waiting and served now, agents by status, today so far', async (t) => {
  const sim = new Sim({ session: { maxConcurrentPerAgent: 1 } });
  sim.connect(A);
  sim.say('u1', '人工');
  sim.say('u2', '人工');
  sim.advance(20 * S);
  sim.agentSay(A, 'u1', 'hi');
  const p = await projected(t, sim);
  t.same(receptionRealtime(p, APP, ['free', 'busy', 'rest', 'offline']), {
    CurrentTransferAgentCnt: 2, CurrentAgentAcceptCnt: 1, CurrentQueueCnt: 1, FreeAgentCnt: 1, RestAgentCnt: 1, BusyAgentCnt: 1, OnlineAgentCnt: 3,
  });
  t.same(memberRealtime(p, APP, [{ id: A, nickname: 'alice', status: 'free' }], sim.now, TZ), [{
    MemberId: A, MemberNickName: 'alice', MemberStatus: 1, CurrentAcceptCnt: 1, TotalSessionCnt: 1, AvgFirstRespTime: 20, AvgRespTime: 0, AvgAcceptTime: 0,
  }]);
});

t.test('suspended time does not count in a response', async (t) => {
  const sim = new Sim();
  sim.connect(A);
  sim.say('u1', '人工');
  sim.say('u1', 'question'); // waiting from T0
  sim.advance(10 * S);
  sim.act(A, 'u1', 'suspend');
  sim.advance(100 * S);
  sim.act(A, 'u1', 'unsuspend');
  sim.advance(5 * S);
  sim.agentSay(A, 'u1', 'answer'); // 115 s later, 100 of them suspended
  const p = await projected(t, sim);
  t.match(sessionStatistics(p, APP, dayStart, dayEnd, 'day', TZ)[0], { AvgRespTime: 15, AvgFirstRespTime: 115 });
});

t.test('per day and for the whole range: days cut at local midnight', async (t) => {
  const sim = day();
  const p = await projected(t, sim);
  const twoDays = daysOf(dayStart, dayEnd + 86_400_000, TZ);
  t.same(twoDays.map((d) => d.day), ['2026-01-05', '2026-01-06']);
  t.equal(twoDays[1].start, dayEnd + 1, 'the second day starts at midnight');
  const [first, second] = twoDays.map((d) => agentStatistics(p, APP, [{ id: B, nickname: 'bob' }], d.start, d.end, sim.now)[0]);
  t.match(first, { TotalSessionCnt: 2, FreeTime: (dayEnd + 1 - at(10, 26, 30)) / S });
  t.match(second, { TotalSessionCnt: 0, FreeTime: 120 }, 'S5 counted on its first day; bob free from midnight to 00:02 (now)');
  t.same(sessionStatistics(p, APP, dayStart, dayEnd + 86_400_000, 'range', TZ).map((r) => [r.Time, r.TotalSessionCnt]), [['2026-01-05~2026-01-06', 5]]);
});

t.test('days where the clocks change are 23 and 25 hours long, and end', async (t) => {
  const ny = 'America/New_York';
  const spring = daysOf(Date.UTC(2026, 2, 7, 5), Date.UTC(2026, 2, 10, 3, 59, 59), ny); // 2026-03-07 00:00 EST to 03-09 23:59:59 EDT
  t.same(spring.map((d) => d.day), ['2026-03-07', '2026-03-08', '2026-03-09']);
  t.equal(spring[1].end + 1 - spring[1].start, 23 * 3_600_000, 'the spring-forward day');
  const autumn = daysOf(Date.UTC(2026, 10, 1, 4), Date.UTC(2026, 10, 2, 4, 59, 59, 999), ny); // 2026-11-01, EDT to EST
  t.equal(autumn[0].end + 1 - autumn[0].start, 25 * 3_600_000, 'the fall-back day');
  t.equal(startOfDay(Date.UTC(2026, 2, 8, 12), ny), Date.UTC(2026, 2, 8, 5), 'midnight before the change, in EST');
  t.equal(startOfDay(T0, TZ), Date.UTC(2026, 0, 4, 16), 'Shanghai');
});

t.test('edge cases: a forward the new agent never accepts, a second request, a contact that failed, a request outside hours', async (t) => {
  // Manual reception: alice forwards to bob, who lets the offer lapse; bob received nothing.
  const manual = new Sim({ session: { receptionMode: 'manual', acceptTimeoutSec: 30 } });
  manual.connect(A);
  manual.say('u1', '人工');
  manual.act(A, 'u1', 'accept');
  manual.connect(B);
  manual.advance(10 * S);
  manual.act(A, 'u1', 'transfer', { targetMemberId: B });
  manual.advance(40 * S); // bob's offer lapses
  let p = await projected(t, manual);
  const rows = agentStatistics(p, APP, [{ id: A, nickname: 'alice' }, { id: B, nickname: 'bob' }], dayStart, dayEnd, manual.now);
  t.match(rows[0], { TotalSessionCnt: 1, TransferSessionCnt: 1, TotalAcceptTime: 10 }, 'alice: received, forwarded after 10 s');
  t.match(rows[1], { TotalSessionCnt: 0, NotRespSessionCnt: 0 }, 'bob never took it');
  t.match(receptionRealtime(p, APP, []), { CurrentAgentAcceptCnt: 0, CurrentQueueCnt: 1 }, 'waiting for an agent again');

  // Queue time runs from the request that was answered, not from an earlier one that failed.
  const twice = new Sim();
  twice.say('u1', '人工'); // nobody online
  twice.advance(600_000); // within the robot's idle time: the same session
  twice.connect(A);
  twice.say('u1', '人工');
  p = await projected(t, twice);
  t.match(sessionStatistics(p, APP, dayStart, dayEnd, 'day', TZ)[0], { TransferAgentSessionCnt: 1, AgentAcceptCnt: 1, AvgQueueTime: 0 });

  // A contact that failed opened a session only for itself: no trace in the statistics either.
  const contact = new Sim();
  contact.call(contact.conv('u9'), (replyTo) => ({ type: 'adminContact', replyTo }));
  p = await projected(t, contact);
  t.same(sessionStatistics(p, APP, dayStart, dayEnd, 'day', TZ), []);

  // Outside working hours the request is refused, and still counts as a request for a human.
  const closed = new Sim({ account: { workTime: { Type: 1, Periods: [{ Day: 'Sunday', PeriodsWithinOneDay: [{ Start: '09:00', End: '17:00' }] }] } } });
  closed.connect(A);
  closed.say('u1', '人工');
  p = await projected(t, closed);
  t.match(sessionStatistics(p, APP, dayStart, dayEnd, 'day', TZ)[0], { TotalSessionCnt: 1, TransferAgentSessionCnt: 1, AgentAcceptCnt: 0 });
});

t.test('suspended, then forwarded: the new agent\'s responses count in full', async (t) => {
  const sim = new Sim();
  sim.connect(A);
  sim.connect(B);
  sim.say('u1', '人工');
  const first = sim.session('u1').cur!.agentId!;
  const other = first === A ? B : A;
  sim.act(first, 'u1', 'suspend');
  sim.act(first, 'u1', 'transfer', { targetMemberId: other });
  sim.say('u1', 'hello?');
  sim.advance(30 * S);
  sim.agentSay(other, 'u1', 'here');
  const p = await projected(t, sim);
  t.match(agentStatistics(p, APP, [{ id: other, nickname: 'x' }], dayStart, dayEnd, sim.now)[0], { AvgRespTime: 30, AvgRespUnder30sCnt: 1 });
});

t.test('a day that begins at a jump forward (Santiago): days follow one another, none lost', async (t) => {
  const tz = 'America/Santiago';
  const days = daysOf(Date.UTC(2024, 8, 6, 4), Date.UTC(2024, 9, 6, 2, 59, 59, 999), tz); // 2024-09-06 00:00 .. 10-05 23:59:59.999 local
  t.equal(days.length, 30);
  t.equal(new Set(days.map((d) => d.day)).size, 30, 'each day once');
  t.ok(days.every((d, i) => d.end >= d.start && (i === 0 || d.start === days[i - 1].end + 1)), 'back to back');
  t.equal(days.find((d) => d.day === '2024-09-08')!.end + 1 - days.find((d) => d.day === '2024-09-08')!.start, 23 * 3_600_000, 'the day that lost its first hour');
});
