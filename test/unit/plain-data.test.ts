import t from 'tap';
import { checkMessageBody } from '../../protocol/message-body';
import { MAX_INPUT_DEPTH, plainDataProblem } from '../../protocol/plain-data';

const nest = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};

t.test('plain JSON data within the depth passes; anything else is named with its place', async (t) => {
  t.equal(plainDataProblem({ a: [1, 'x', null, true, { b: -0.5 }], c: Object.create(null) }, 'frame'), undefined, 'plain data');
  t.equal(plainDataProblem(nest(MAX_INPUT_DEPTH - 1), 'frame'), undefined, `${MAX_INPUT_DEPTH - 1} nested objects around a number`);
  t.match(plainDataProblem(nest(MAX_INPUT_DEPTH + 1), 'frame'), /^frame(\.a)+ is nested too deeply$/);
  t.equal(plainDataProblem({ data: { body: [{ b: Buffer.alloc(2) }] } }, 'frame'), 'frame.data.body[0].b is binary data; only JSON data is accepted');
  t.match(plainDataProblem({ d: new Date(0) }, 'x'), /^x\.d is a Date/);
  t.match(plainDataProblem({ s: new Set([1]) }, 'x'), /^x\.s is a Set/);
  t.match(plainDataProblem({ u: undefined }, 'x'), /^x\.u is undefined/);
  t.match(plainDataProblem({ n: NaN }, 'x'), /not a finite number/);
  t.match(plainDataProblem({ n: -Infinity }, 'x'), /not a finite number/);
  t.match(plainDataProblem({ n: 5n }, 'x'), /64-bit integer/);
  t.match(plainDataProblem({ f: () => 1 }, 'x'), /is function/);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  t.match(plainDataProblem(cyclic, 'x'), /nested too deeply/, 'a cycle is refused, not followed forever');
  class Custom { a = 1; }
  t.match(plainDataProblem([new Custom()], 'x'), /^x\[0\] is a non-plain object/);
});

t.test('a message body is checked with the IM codes and rebuilt from MsgType and MsgContent only', async (t) => {
  t.same(checkMessageBody('hi'), { ok: false, code: 90007, info: 'MsgBody must be an array of TIMMsgElement' });
  t.equal((checkMessageBody([]) as { code: number }).code, 90002);
  t.equal((checkMessageBody(Array(21).fill({ MsgType: 'TIMTextElem', MsgContent: { Text: 'x' } })) as { code: number }).code, 90002);
  t.equal((checkMessageBody([{ MsgType: 'TIMTextElem', MsgContent: { Text: 1 } }]) as { code: number }).code, 90002);
  t.equal((checkMessageBody([{ MsgType: 'TIMCustomElem', MsgContent: {} }]) as { code: number }).code, 90002);
  t.equal((checkMessageBody([{ MsgType: 'TIMTextElem', MsgContent: { Text: 'x', n: nest(9) } }]) as { code: number }).code, 90002, 'MsgContent past 8 levels');
  t.equal((checkMessageBody([{ MsgType: 'TIMTextElem', MsgContent: { Text: 'x'.repeat(13_000) } }]) as { code: number }).code, 93000);
  t.same(checkMessageBody([{ MsgType: 'TIMTextElem', MsgContent: { Text: 'x' }, Extra: { deep: 1 } }]), { ok: true, body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'x' } }] }, 'extra element keys dropped');
});
