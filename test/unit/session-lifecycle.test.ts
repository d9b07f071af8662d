/** Session reducer: entry, robot phase, transfer to human, queue and reception (spec §2.3 T1–T9, T21). */
import t from 'tap';
import { matchesToHuman } from '../../actors/robot';
import { defaultSessionSettings } from '../../protocol/app-model';
import { ErrorCode } from '../../protocol/errors';
import { CS, payloadOf, Sim, srcOf, T0, textBody, textOf } from '../helpers/sim';

const A = 'alice@desk.test';
const B = 'bob@desk.test';
const WELCOME = '您好请问有什么可以帮助您的?';
const TRANSFERRING = '正在为您转接，请稍候';
const FAILED = '抱歉，当前无客服在线，请稍后再试';
const FALLBACK = '抱歉，我还没有学会这个问题，请换种问法或尝试询问我其他问题。';
const queueing = (pos: number) => `您的问题我们已经收到。当前咨询人数较多，您目前排在第${pos}位，前面还有${pos - 1}人，感谢您的耐心等待`;

t.test('T1: src 7 starts a session with the welcome prompt, src 23 and src 26 outSeat', async (t) => {
  const sim = new Sim();
  const ack = sim.enter('u1');
  t.ok(ack?.ok, 'src 7 acknowledged');
  t.equal((ack!.data as { transient: boolean }).transient, true, 'src 7 is a transient control message');
  t.equal(sim.phase('u1'), 'Chatbot');
  t.equal(sim.sid('u1'), 'sid-1', 'seeded session id');
  t.same(sim.texts('u1'), [WELCOME], 'welcome prompt');
  t.same(sim.srcs('u1'), ['23', '26'], 'rating rules then seat status');
  const frames = sim.seen('user', 'u1');
  const rules = payloadOf(frames.find((f) => srcOf(f) === '23')!)!;
  t.equal(rules.content.menuSendRuleFlag, 7, 'invitation method 3 → auto-send | agent invite | user request');
  const seat = payloadOf(frames.find((f) => srcOf(f) === '26')!)!;
  t.same(seat.content, { command: 'updateSeatStatus', content: 'outSeat' });
  t.same(sim.events(sim.conv('u1'), 'SessionBegin').length, 1, 'SessionBegin');
  t.equal(sim.timerAt(sim.conv('u1'), 'robotIdle'), T0 + 1800_000, 'robot idle timer armed');
});

t.test('T1: a repeated src 7 continues the same session without a second welcome', async (t) => {
  const sim = new Sim();
  sim.enter('u1');
  sim.enter('u1');
  t.equal(sim.sid('u1'), 'sid-1');
  t.same(sim.texts('u1'), [WELCOME]);
  t.same(sim.srcs('u1'), ['23', '26', '23', '26'], 'src 23 and src 26 answer every src 7');
});

t.test('T1/T2: a first plain message also starts a session, and the robot answers it', async (t) => {
  const sim = new Sim();
  const ack = sim.say('u1', 'hello', 42);
  t.ok(ack?.ok);
  t.match(ack!.data, { random: 42, sessionId: 'sid-1', seq: 2 }, 'ack names the stored message (after the welcome)');
  t.equal(sim.phase('u1'), 'Chatbot');
  t.same(sim.texts('u1'), [WELCOME, 'hello', FALLBACK], 'welcome, the echo to the user\'s other sockets, the robot fallback');
  t.equal(sim.pushes.find((p) => p.frame.type === 'message' && (p.frame.data as { fromRole: number }).fromRole === 1)!.exceptConn, 1, 'not echoed to the sending socket');
  const mine = sim.stored.filter((s) => s.message.fromRole === 1);
  t.equal(mine.length, 1, 'the user message is stored');
  t.equal(mine[0].message.sessionId, 'sid-1');
});

t.test('T1a: with the robot disabled, src 7 transfers to a human at once', async (t) => {
  t.test('an agent is online: straight to the agent', async (t) => {
    const sim = new Sim({ account: { chatbotDisabled: true } });
    sim.connect(A);
    sim.enter('u1');
    t.equal(sim.phase('u1'), 'Agent');
    t.same(sim.texts('u1'), [WELCOME, TRANSFERRING, '转接人工成功，客服alice为您服务']);
    t.equal(sim.timerAt(sim.conv('u1'), 'robotIdle'), undefined, 'no robot idle timer without a robot');
  });
  t.test('nobody online: the transfer fails', async (t) => {
    const sim = new Sim({ account: { chatbotDisabled: true } });
    sim.enter('u1');
    t.same(sim.texts('u1'), [WELCOME, TRANSFERRING, FAILED]);
    t.equal(sim.phase('u1'), 'Chatbot');
  });
});

t.test('T3: to-human keywords (CJK anywhere, ASCII as whole words)', async (t) => {
  const kw = defaultSessionSettings().toHumanKeywords;
  t.ok(matchesToHuman(kw, '人工'));
  t.ok(matchesToHuman(kw, '我要转人工'));
  t.ok(matchesToHuman(kw, '转人工'));
  t.ok(matchesToHuman(kw, 'human'));
  t.ok(matchesToHuman(kw, 'I want a HUMAN, please'));
  t.ok(matchesToHuman(kw, '  human!  '));
  t.notOk(matchesToHuman(kw, 'humane'), '"humane" is not "human"');
  t.notOk(matchesToHuman(kw, 'inhuman'));
  t.notOk(matchesToHuman(kw, 'hello'));
  t.notOk(matchesToHuman(kw, '   '));
  t.notOk(matchesToHuman([], '人工'));
});

t.test('T3: a keyword in the robot phase transfers; a near miss gets the robot', async (t) => {
  const sim = new Sim();
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', 'humane treatment');
  t.equal(sim.phase('u1'), 'Chatbot', '"humane" stays with the robot');
  t.equal(sim.texts('u1').at(-1), FALLBACK);
  sim.say('u1', '转人工');
  t.equal(sim.phase('u1'), 'Agent');
  t.same(sim.texts('u1').slice(-2), [TRANSFERRING, '转接人工成功，客服alice为您服务']);
  t.equal(sim.events(sim.conv('u1'), 'TransferringToHuman').length, 1);
  t.equal(sim.timerAt(sim.conv('u1'), 'robotIdle'), undefined, 'robot idle timer cancelled on transfer');
});

t.test('T3: outside working hours the non-working-hours prompt is sent and the robot stays', async (t) => {
  const workTime = { Type: 1 as const, Periods: [{ Day: 'Monday' as const, PeriodsWithinOneDay: [{ Start: '09:00', End: '17:00' }] }] };
  const open = new Sim({ account: { workTime } }); // T0 is Monday 10:00 in Asia/Shanghai
  open.connect(A);
  open.enter('u1');
  open.say('u1', '人工');
  t.equal(open.phase('u1'), 'Agent', 'within working hours');

  const closed = new Sim({ account: { workTime }, start: T0 + 8 * 3600_000 }); // 18:00
  closed.connect(A);
  closed.enter('u1');
  closed.say('u1', '人工');
  t.equal(closed.phase('u1'), 'Chatbot');
  t.equal(closed.texts('u1').at(-1), '当前无客服在线，请您于工作时间咨询');
  t.equal(closed.events(closed.conv('u1'), 'TransferringToHuman').length, 0, 'no transfer started');
});

t.test('T4: no agent online → transfer-failed prompt, back to the robot', async (t) => {
  const sim = new Sim();
  sim.enter('u1');
  sim.say('u1', '人工');
  t.same(sim.texts('u1').slice(-2), [TRANSFERRING, FAILED]);
  t.equal(sim.phase('u1'), 'Chatbot');
  t.equal(sim.events(sim.conv('u1'), 'NoAgentOnline').length, 1);
  t.same(sim.queue(1).waiting, [], 'nothing left in the queue');
  t.equal(sim.timerAt(sim.conv('u1'), 'robotIdle'), T0 + 1800_000, 'robot idle timer re-armed');
  sim.say('u1', 'still there?');
  t.equal(sim.texts('u1').at(-1), FALLBACK, 'the robot answers again');
});

t.test('T5: online agents that cannot take it → queue (busy counts as online, GAP-6)', async (t) => {
  const sim = new Sim();
  sim.connect(A);
  sim.status(A, 'busy');
  sim.enter('u1');
  sim.say('u1', '人工');
  t.equal(sim.phase('u1'), 'Queueing');
  t.equal(sim.texts('u1').at(-1), queueing(1), 'position 1 → 前面还有0人');
  t.equal(sim.events(sim.conv('u1'), 'TransferringToHumanWait').length, 1);
});

t.test('T5: queue prompt substitutes ${QueuePosition} and ${WaitNo}', async (t) => {
  const sim = new Sim({ members: [{ mail: A, receptionLimit: 1 }] });
  sim.connect(A);
  for (const u of ['u1', 'u2', 'u3']) {
    sim.enter(u);
    sim.say(u, '人工');
  }
  t.equal(sim.phase('u1'), 'Agent');
  t.equal(sim.phase('u2'), 'Queueing');
  t.equal(sim.phase('u3'), 'Queueing');
  t.equal(sim.texts('u2').at(-1), queueing(1));
  t.equal(sim.texts('u3').at(-1), queueing(2));
  t.match(sim.texts('u3').at(-1), /第2位，前面还有1人/);
  t.same(sim.queue(1).waiting.map((w) => w.sessionId), [sim.sid('u2'), sim.sid('u3')]);
});

t.test('T6: when an agent frees a slot, the first queued user is assigned', async (t) => {
  const sim = new Sim({ members: [{ mail: A, receptionLimit: 1 }] });
  sim.connect(A);
  for (const u of ['u1', 'u2', 'u3']) {
    sim.enter(u);
    sim.say(u, '人工');
  }
  sim.forget();
  t.ok(sim.act(A, 'u1', 'end')?.ok);
  t.equal(sim.phase('u1'), 'NotInSession');
  t.equal(sim.phase('u2'), 'Agent', 'u2 assigned');
  t.equal(sim.session('u2').cur!.agentId, A);
  t.same(sim.texts('u2'), ['转接人工成功，客服alice为您服务']);
  t.equal(sim.phase('u3'), 'Queueing', 'u3 still waits');
  t.same(sim.agentFrames(A, 'session.assigned').map((f) => (f.data as { userId: string }).userId), ['u2']);
});

t.test('T7: auto reception: success prompt names the agent, src 26 inSeat, agent told', async (t) => {
  const sim = new Sim({ members: [{ mail: A, nickname: 'Alice Wang' }] });
  sim.connect(A);
  sim.enter('u1');
  sim.forget();
  sim.say('u1', '人工');
  t.equal(sim.phase('u1'), 'Agent');
  t.equal(sim.texts('u1').at(-1), '转接人工成功，客服Alice Wang为您服务');
  const seat = sim.seen('user', 'u1').filter((f) => srcOf(f) === '26').map((f) => payloadOf(f)!.content.content);
  t.same(seat, ['inSeat']);
  const assigned = sim.agentFrames(A, 'session.assigned');
  t.equal(assigned.length, 1);
  t.match(assigned[0].data, { sessionId: 'sid-1', userId: 'u1', groupId: 1, startedAt: T0 });
  t.same(Object.keys(sim.agent(A).sessions), ['sid-1'], 'the agent holds the session');
  t.equal(sim.events(sim.conv('u1'), 'TransferToHumanSuccess').length, 1);
});

t.test('T7: a repeated src 7 in service reports inSeat', async (t) => {
  const sim = new Sim();
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.forget();
  sim.enter('u1');
  t.same(sim.seen('user', 'u1').filter((f) => srcOf(f) === '26').map((f) => payloadOf(f)!.content.content), ['inSeat']);
});

t.test('T8/T9: manual reception: offer with a deadline, then accept', async (t) => {
  const sim = new Sim({ session: { receptionMode: 'manual', acceptTimeoutSec: 30 } });
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  t.equal(sim.phase('u1'), 'WaitingForAgentAnswering', 'T8');
  t.equal(sim.session('u1').cur!.agentId, A);
  const offers = sim.agentFrames(A, 'session.offer');
  t.equal(offers.length, 1);
  t.match(offers[0].data, { sessionId: 'sid-1', acceptDeadline: T0 + 30_000 });
  t.notOk(sim.texts('u1').some((x) => x.startsWith('转接人工成功')), 'no success prompt before the accept');
  t.ok(sim.agentSay(A, 'u1', 'hi')?.code === ErrorCode.WrongState, 'cannot write before accepting');

  sim.advance(10_000);
  const ok = sim.act(A, 'u1', 'accept');
  t.ok(ok?.ok, 'T9 accept');
  t.equal(sim.phase('u1'), 'Agent');
  t.equal(sim.texts('u1').at(-1), '转接人工成功，客服alice为您服务');
  t.equal(sim.agentFrames(A, 'session.assigned').length, 1);
  t.equal(sim.timerAt(sim.conv('u1'), 'accept'), undefined, 'accept timer cancelled');
  t.equal(sim.act(A, 'u1', 'accept')?.code, ErrorCode.WrongState, 'a second accept is refused');
  t.equal(sim.act(B, 'u1', 'accept')?.code, ErrorCode.SessionNotFound, 'another member cannot accept it');
});

t.test('T21: after the end, src 7 starts a new session with a new id', async (t) => {
  const sim = new Sim();
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  const first = sim.sid('u1');
  sim.act(A, 'u1', 'end');
  t.equal(sim.phase('u1'), 'NotInSession');
  sim.forget();
  sim.enter('u1');
  t.equal(sim.phase('u1'), 'Chatbot');
  t.not(sim.sid('u1'), first);
  t.same(sim.texts('u1'), [WELCOME], 'a new welcome');
  t.equal(payloadOf(sim.seen('user', 'u1').find((f) => srcOf(f) === '26')!)!.content.content, 'outSeat');
  t.ok(sim.session('u1').seq > 0 && sim.stored.at(-1)!.message.seq === sim.session('u1').seq, 'the conversation sequence continues');
});

t.test('a send retried with the same random, by the user or by the agent, is acknowledged again and stored once', async (t) => {
  const sim = new Sim();
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.forget();
  const sides = [
    { who: 'the user', text: 'my order', send: (text: string, random: number) => sim.say('u1', text, random), seen: () => sim.agentFrames(A, 'message').map(textOf) },
    { who: 'the agent', text: 'on its way', send: (text: string, random: number) => sim.agentSay(A, 'u1', text, random), seen: () => sim.texts('u1') },
  ];
  for (const { who, text, send, seen } of sides) {
    const before = sim.stored.length;
    const first = send(text, 77);
    const again = send(text, 77);
    t.ok(first?.ok && again?.ok);
    const a = first!.data as { msgKey: string; seq: number };
    t.match(again!.data, { msgKey: a.msgKey, seq: a.seq, duplicate: true }, `${who}: same msgKey and seq`);
    t.equal(sim.stored.length - before, 1, `${who}: one message stored`);
    t.same(seen().filter((x) => x === text), [text], `${who}: the other side saw it once`);
    t.equal(send('another', 78)?.ok, true);
    t.equal(sim.stored.length - before, 2, `${who}: another random is another message`);
  }
  const sessionId = sim.sid('u1');
  sim.act(A, 'u1', 'end');
  const late = sim.call(sim.conv('u1'), (replyTo) => ({ type: 'agentSend', memberId: A, sessionId, random: 78, body: textBody('another'), conn: 2, replyTo }));
  t.match({ ok: late?.ok, data: late?.data }, { ok: true, data: { duplicate: true } }, "the agent's, also once the session has ended since (the answer was lost with a node)");
});

t.test("a conversation taken over by another node tells its user and agent its last seq, to catch up from (history.hint)", async (t) => {
  const sim = new Sim();
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  sim.agentSay(A, 'u1', 'hello');
  sim.forget();
  const stored = sim.stored.length;
  sim.tell(sim.conv('u1'), { type: 'takenOver' });
  sim.run();
  const want = { sessionId: sim.sid('u1'), account: CS, seq: sim.session('u1').seq };
  t.same(sim.seen('user', 'u1').filter((f) => f.type === 'history.hint').map((f) => f.data), [want], 'the user');
  t.same(sim.agentFrames(A, 'history.hint').map((f) => f.data), [want], 'the agent serving it');
  t.equal(sim.stored.length, stored, 'nothing is stored for it');
});
