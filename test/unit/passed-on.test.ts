/**
 * A cluster node's record of the socket requests it passed on to other nodes: those of a conversation (or session)
 * taken over are handed back to be answered "retry", each once; answered ones and those of other conversations stay
 * out of it.
 */
import t from 'tap';
import { PassedOnRequests } from '../../src/gateway/passed-on';

t.test('requests of a conversation taken over come back once; answered ones and others do not', async (t) => {
  const p = new PassedOnRequests<string | undefined>();
  p.add({ ref: 'r1', conv: 'session:1|cs|u1' });
  p.add({ ref: 'r2', conv: 'session:1|cs|u1' });
  p.add({ ref: 'r3', conv: 'session:1|vip|u1' });
  p.add({ ref: 'r4', sessionId: 's-9' });
  p.add({ ref: undefined, conv: 'session:1|cs|u1' });
  p.answered('r2');
  t.same(p.takenOver(undefined, 'session:1|cs|u1').map((x) => x.ref), ['r1', undefined], 'the conversation\'s, not the answered one');
  t.same(p.takenOver(undefined, 'session:1|cs|u1'), [], 'each once');
  t.same(p.takenOver('s-9', undefined).map((x) => x.ref), ['r4'], 'an agent\'s request named by its session');
  t.same(p.takenOver(undefined, undefined), [], 'a hint naming nothing known hands back nothing');
  t.equal(p.size, 1, 'the other conversation\'s request is still waited for');
  p.answered('r3');
  t.equal(p.size, 0);
});

t.test('a ref used again stands for the newer request', async (t) => {
  const p = new PassedOnRequests<number>();
  p.add({ ref: 1, conv: 'a' });
  p.add({ ref: 1, conv: 'b' });
  t.same(p.takenOver(undefined, 'a'), []);
  t.same(p.takenOver(undefined, 'b').map((x) => x.conv), ['b']);
});

t.test('a late answer to a request answered "retry" is told apart, once; other answers are not', async (t) => {
  const p = new PassedOnRequests<string>();
  p.add({ ref: 'r1', conv: 'a' });
  p.add({ ref: 'r2', conv: 'b' });
  t.same(p.takenOver(undefined, 'a').map((x) => x.ref), ['r1']);
  t.equal(p.answered('r1'), false, "r1's own answer, late: it answers no request still waited for");
  t.equal(p.answered('r1'), true, 'once');
  t.equal(p.answered('r2'), true, 'an answer to a request waited for');
  t.equal(p.answered('local'), true, 'and to one never passed on');
});
