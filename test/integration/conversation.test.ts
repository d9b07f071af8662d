import t from 'tap';
import { CS, startTestServer } from '../helpers/server';
import { srcBody, srcOf, textBody, textOf } from '../helpers/client';

t.test('a user reaches the robot, asks for a human, talks to an agent, the agent ends, the user rates', async (t) => {
  const s = await startTestServer();
  t.teardown(() => s.stop());
  const agent = await s.agent('alice@desk.test');
  const user = await s.user('u1');

  const ack7 = await user.request('message.send', { to: CS, random: 1, body: srcBody('7') });
  t.equal(ack7.type, 'message.ack');
  const welcome = await user.next((f) => textOf(f) !== undefined);
  t.equal(textOf(welcome), '您好请问有什么可以帮助您的?', 'welcome prompt');
  const rules = await user.next((f) => srcOf(f) === '23');
  t.ok(rules, 'src 23 rating rules');
  const seat = await user.next((f) => srcOf(f) === '26');
  t.match(JSON.stringify(seat.data), /outSeat/, 'src 26 outSeat before transfer');

  const hello = await user.request('message.send', { to: CS, random: 2, body: textBody('hello') });
  t.equal(hello.type, 'message.ack');
  const fallback = await user.next((f) => f.type === 'message' && textOf(f)?.startsWith('抱歉，我还没有学会') === true);
  t.ok(fallback, 'robot fallback answer');

  await user.request('message.send', { to: CS, random: 3, body: textBody('转人工') });
  await user.next((f) => textOf(f) === '正在为您转接，请稍候');
  const success = await user.next((f) => (textOf(f) ?? '').startsWith('转接人工成功'));
  t.equal(textOf(success), '转接人工成功，客服alice为您服务', 'success prompt names the agent');
  const assigned = await agent.next((f) => f.type === 'session.assigned');
  const sessionId = (assigned.data as { sessionId: string }).sessionId;
  t.equal((assigned.data as { userId: string }).userId, 'u1');

  await user.request('message.send', { to: CS, random: 4, body: textBody('my order is late') });
  const got = await agent.next((f) => f.type === 'message' && textOf(f) === 'my order is late');
  t.equal((got.data as { sessionId: string }).sessionId, sessionId);

  const ack = await agent.request('message.send', { sessionId, random: 10, body: textBody('let me check') });
  t.equal(ack.type, 'message.ack');
  const reply = await user.next((f) => textOf(f) === 'let me check');
  t.equal((reply.data as { fromRole: number }).fromRole, 2);
  t.equal((reply.data as { from: string }).from, CS, 'users see agent messages from the account');

  const end = await agent.request('session.end', { sessionId });
  t.equal(end.type, 'session.end.ok');
  await user.next((f) => textOf(f) === '本次服务已结束，感谢您的支持');
  const card = await user.next((f) => srcOf(f) === '9');
  const ended = await agent.next((f) => f.type === 'session.ended');
  t.equal((ended.data as { endStatus: string }).endStatus, 'AgentEndedSession');

  const cardData = JSON.parse((card.data as { body: { MsgContent: { Data: string } }[] }).body[0].MsgContent.Data);
  t.equal(cardData.menuContent.sessionId, sessionId);
  const rated = await user.request('message.send', { to: CS, random: 5, body: srcBody('10', { menuSelected: { id: '105', content: '非常满意', sessionId } }) });
  t.equal(rated.type, 'message.ack');
  const edit = await user.next((f) => f.type === 'message.edit');
  t.match(JSON.stringify(edit.data), /selected/, 'card filled with the selection');
  const again = await user.request('message.send', { to: CS, random: 6, body: srcBody('10', { menuSelected: { id: '101', content: 'x', sessionId } }) });
  t.equal(again.type, 'error', 'a second rating is refused');

  const hist = await user.request('history.sync', { to: CS, afterSeq: 0 });
  const seqs = (hist.data as { messages: { seq: number }[] }).messages.map((m) => m.seq);
  t.same(seqs, [...seqs].sort((a, b) => a - b), 'history in order');
  t.ok(seqs.length >= 8, 'history holds the conversation');
});
