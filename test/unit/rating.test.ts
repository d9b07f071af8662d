/** Satisfaction rating: src 9 card, src 10 choice, invitation methods, validity (spec §7.2, §6). */
import t from 'tap';
import type { SatisfactionConfig } from '../../protocol/app-model';
import { ErrorCode } from '../../protocol/errors';
import type { ServerFrame } from '../../protocol/frames';
import { payloadOf, Sim, srcOf } from '../helpers/sim';

const A = 'alice@desk.test';

function inService(satisfaction: Partial<SatisfactionConfig> = {}): Sim {
  const sim = new Sim({ session: { satisfaction } });
  sim.connect(A);
  sim.enter('u1');
  sim.say('u1', '人工');
  return sim;
}

const cards = (sim: Sim): ServerFrame[] => sim.seen('user', 'u1').filter((f) => srcOf(f) === '9');
const choose = (sim: Sim, sessionId: string, id: string) => sim.src('u1', '10', { menuSelected: { id, content: 'x', sessionId } });

t.test('invitationMethod 1: the card is auto-sent on end; agents cannot invite', async (t) => {
  const sim = inService({ invitationMethod: 1 });
  t.equal(sim.act(A, 'u1', 'invite_rating')?.code, ErrorCode.WrongState);
  sim.act(A, 'u1', 'end');
  const c = cards(sim);
  t.equal(c.length, 1);
  const card = payloadOf(c[0])!.menuContent;
  t.match(card, {
    head: '请对本次服务进行评价', tail: '感谢您的评价', type: 1, sessionId: 'sid-1', effectiveHour: 12,
    menu: [{ id: '101', content: '非常不满意' }, { id: '102' }, { id: '103' }, { id: '104' }, { id: '105', content: '非常满意' }],
  });
  t.equal(card.expireTime, Math.floor((sim.now + 12 * 3600_000) / 1000), 'expireTime in unix seconds');
  t.notOk('selected' in card, 'nothing selected yet');
});

t.test('invitationMethod 2: only on invitation, not on end', async (t) => {
  const sim = inService({ invitationMethod: 2 });
  sim.act(A, 'u1', 'end');
  t.equal(cards(sim).length, 0, 'no card at the end');

  const sim2 = inService({ invitationMethod: 2 });
  t.ok(sim2.act(A, 'u1', 'invite_rating')?.ok);
  t.equal(cards(sim2).length, 1, 'card on invitation');
});

t.test('invitationMethod 3: auto-sent on end unless the agent already invited', async (t) => {
  const sim = inService({ invitationMethod: 3 });
  sim.act(A, 'u1', 'end');
  t.equal(cards(sim).length, 1, 'not invited → auto-sent');

  const sim2 = inService({ invitationMethod: 3 });
  sim2.act(A, 'u1', 'invite_rating');
  sim2.act(A, 'u1', 'end');
  t.equal(cards(sim2).length, 1, 'invited → no second card at the end');
});

t.test('satisfaction disabled: no card, no invitation, src 23 says 0', async (t) => {
  const sim = inService({ enabled: false });
  t.equal(sim.act(A, 'u1', 'invite_rating')?.code, ErrorCode.WrongState);
  t.equal(sim.src('u1', '24')?.code, ErrorCode.WrongState, 'src 24 refused');
  sim.act(A, 'u1', 'end');
  t.equal(cards(sim).length, 0);
  t.equal(payloadOf(sim.seen('user', 'u1').find((f) => srcOf(f) === '23')!)!.content.menuSendRuleFlag, 0);
});

t.test('src 24: the user asks for the card in human service only', async (t) => {
  const sim = new Sim();
  sim.connect(A);
  sim.enter('u1');
  t.equal(sim.src('u1', '24')?.code, ErrorCode.WrongState, 'not in the robot phase');
  sim.say('u1', '人工');
  t.ok(sim.src('u1', '24')?.ok);
  t.equal(cards(sim).length, 1);
});

t.test('src 10 fills `selected` into the card and raises SatisfactionSelected', async (t) => {
  const sim = inService();
  sim.act(A, 'u1', 'end');
  const card = cards(sim)[0];
  const { seq, msgKey } = card.data as { seq: number; msgKey: string };
  sim.forget();
  const r = choose(sim, 'sid-1', '104');
  t.ok(r?.ok, 'accepted');
  const edit = sim.seen('user', 'u1').find((f) => f.type === 'message.edit')!;
  t.ok(edit, 'the user\'s card is edited');
  t.match(edit.data, { sessionId: 'sid-1', seq, msgKey });
  t.same(payloadOf(edit)!.menuContent.selected, { id: '104', content: '满意' });
  t.equal(sim.agentFrames(A, 'message.edit').length, 1, 'the agent sees the rating too');
  const rewritten = sim.stored.at(-1)!.message;
  t.equal(rewritten.seq, seq, 'the stored card is overwritten in place');
  t.match(sim.events(sim.conv('u1'), 'SatisfactionSelected'), [{ sessionId: 'sid-1', level: 4 }]);
  t.equal(sim.session('u1').ratings[0].level, 4);
});

t.test('a second rating is refused; the same choice again (a retry whose answer was lost) is acknowledged, applied once', async (t) => {
  const sim = inService();
  sim.act(A, 'u1', 'end');
  t.ok(choose(sim, 'sid-1', '105')?.ok);
  sim.forget();
  const again = choose(sim, 'sid-1', '105');
  t.match({ ok: again?.ok, data: again?.data }, { ok: true, data: { duplicate: true } }, 'the same choice again is acknowledged');
  t.same(sim.seen('user', 'u1'), [], 'and changes nothing the user sees');
  t.equal(choose(sim, 'sid-1', '101')?.code, ErrorCode.WrongState, 'another choice is refused');
  t.equal(sim.session('u1').ratings[0].level, 5, 'the first choice stands');
});

t.test('a rating after validityHours is refused; just before it is accepted', async (t) => {
  const late = inService({ validityHours: 2 });
  late.act(A, 'u1', 'end');
  late.advance(2 * 3600_000 + 1);
  t.equal(choose(late, 'sid-1', '103')?.code, ErrorCode.WrongState, 'expired');
  t.equal(late.events(late.conv('u1'), 'SatisfactionSelected').length, 0);

  const inTime = inService({ validityHours: 2 });
  inTime.act(A, 'u1', 'end');
  inTime.advance(2 * 3600_000);
  t.ok(choose(inTime, 'sid-1', '103')?.ok, 'at the expiry instant still valid');
});

t.test('invalid src 10 submissions are refused', async (t) => {
  const sim = inService();
  sim.act(A, 'u1', 'end');
  t.equal(choose(sim, 'sid-1', '100')?.code, ErrorCode.BadParameter, 'id out of range');
  t.equal(choose(sim, 'sid-1', '106')?.code, ErrorCode.BadParameter);
  t.equal(sim.src('u1', '10', {})?.code, ErrorCode.BadParameter, 'no menuSelected');
  t.equal(choose(sim, 'sid-9', '105')?.code, ErrorCode.SessionNotFound, 'no card for that session');
});

t.test('a card survives into the next session and can still be rated', async (t) => {
  const sim = inService();
  sim.act(A, 'u1', 'end');
  sim.enter('u1');
  t.not(sim.sid('u1'), 'sid-1', 'a new session');
  t.ok(choose(sim, 'sid-1', '102')?.ok);
});

// A rating requested during service (src 24) counts: no second card at the end, and no second submission.
t.test('a session is rated at most once, even when a second card is sent', async (t) => {
  const sim = inService({ invitationMethod: 1 });
  t.ok(sim.src('u1', '24')?.ok, 'the user asks for the card during service');
  t.ok(choose(sim, 'sid-1', '105')?.ok, 'and rates 5');
  sim.act(A, 'u1', 'end'); // method 1 auto-sends a card at the end as well
  const again = choose(sim, 'sid-1', '101');
  t.equal(again?.code, ErrorCode.WrongState, 'a second rating of the same session is refused');
  t.equal(sim.events(sim.conv('u1'), 'SatisfactionSelected').length, 1, 'one SatisfactionSelected per session');
});
