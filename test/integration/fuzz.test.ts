/**
 * Regressions found by fuzzing and by hand: frames (and REST bodies) that once stopped the server, each sent alone
 * to a fresh server in a child process, which must refuse it and go on serving.
 */
import t from 'tap';
import { rest } from '../contract/rest-client';
import { APP, CS, dataOf, isText, KEY, nextRandom, seen } from './_support';
import { packr, packWith, POISONS, survives } from './_fuzz';

const deepArrayJson = (depth: number, pad: string) =>
  `{"type":"message.send","ref":"deep","data":{"to":"${CS}","random":${nextRandom()},"body":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"${pad}","n":${'['.repeat(depth)}${']'.repeat(depth)}}}]}}`;

t.test('regression: a 2000-deep array inside MsgContent (4 KB JSON frame) does not kill the server', async (t) => {
  await survives(t, 'deep-small', async (u) => {
    u.sendRaw(deepArrayJson(2000, 'deep'));
  });
});

t.test('regression: a 5000-deep array inside MsgContent of a frame over 12 KB does not kill the server', async (t) => {
  await survives(t, 'deep-big', async (u) => {
    u.sendRaw(deepArrayJson(5000, 'p'.repeat(4000)));
  });
});

const packBig = (text: string): Buffer => packr.pack({ type: 'message.send', ref: 'big', data: { to: CS, random: nextRandom(), body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: text, n: 5n } }] } });

t.test('regression: a msgpack 64-bit integer inside MsgContent, relayed to a JSON agent, does not kill the server', async (t) => {
  await survives(t, 'bigint-relay', async (u) => {
    u.ws.send(packBig('big number'));
  });
});

t.test('regression: a msgpack 64-bit integer inside MsgContent of a frame over 12 KB does not kill the server', async (t) => {
  await survives(t, 'bigint-big', async (u) => {
    u.ws.send(packBig('b'.repeat(13_000)));
  });
});

t.test('regression: an array holding an object with a non-callable toString in a validated field does not kill the server', async (t) => {
  // fastest-validator formats the rejected value into its message: String([{ toString: 1 }]) throws.
  await survives(t, 'tostring-ref', async (u) => {
    u.sendRaw('{"type":"ping","ref":[{"toString":1}],"data":{}}');
  });
});

t.test('regression: the same trap in an agent frame (status: [{"valueOf":0,"toString":0}]) does not kill the server', async (t) => {
  await survives(t, 'valueof-status', async (_u, agent) => {
    agent.sendRaw('{"type":"agent.status","ref":"s","data":{"status":[{"valueOf":0,"toString":0}]}}');
  });
});

t.test('control: the same messages without the poison are fine', async (t) => {
  await survives(t, 'control', async (u, agent) => {
    u.sendRaw(deepArrayJson(100, 'shallow'));
    u.ws.send(packr.pack({ type: 'message.send', ref: 'c', data: { to: CS, random: nextRandom(), body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'small int', n: 5 } }] } }));
    await seen(agent, isText('small int'), 'relayed');
    const mark = u.frames.length;
    u.sendRaw('{"type":"ping","ref":[{"toStr":1}],"data":{}}');
    const e = await seen(u, (f) => f.type === 'error', 'error for an array ref', mark);
    t.equal(dataOf<{ code: number }>(e).code, 141004, 'a harmless array ref is just refused');
  });
});


/** A message.send frame whose first element carries `extra` beside MsgType and MsgContent. */
const withExtra = (extraJson: string) =>
  `{"type":"message.send","ref":"x","data":{"to":"${CS}","random":${nextRandom()},"body":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"},"extra":${extraJson}}]}}`;
const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

t.test('regression: an element key nested 1,500 levels deep (3 KB frame) is refused with an error, and the server lives on', async (t) => {
  await survives(t, 'deep-extra-key', async (u) => {
    const mark = u.frames.length;
    u.sendRaw(withExtra(nested(1500)));
    const e = await seen(u, (f) => f.type === 'error', 'error for the deep frame', mark);
    t.equal(dataOf<{ code: number }>(e).code, 141004, 'refused as an illegal parameter');
    t.equal(e.ref, 'x', 'the error names the frame');
    t.match(dataOf<{ info: string }>(e).info, /nested too deeply/);
  });
});

t.test('an element key a few levels deep is accepted and dropped: only MsgType and MsgContent are kept', async (t) => {
  await survives(t, 'shallow-extra-key', async (u, agent) => {
    const ack = await u.request('message.send', { to: CS, random: nextRandom(), body: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'extras' }, extra: { a: { b: 1 } } }] });
    t.equal(ack.type, 'message.ack');
    const m = await seen(agent, isText('extras'), 'relayed');
    t.same(dataOf<{ body: unknown[] }>(m).body, [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'extras' } }], 'the extra key is not relayed');
  });
});

t.test('regression: msgpack frames carrying binary or extension values in the body are refused, never stored', async (t) => {
  await survives(t, 'binary-values', async (u, agent) => {
    // (A record decodes to a plain object: JSON data, so it is not among these.)
    for (const [name, inner] of POISONS.filter(([name]) => name !== 'record ext')) {
      const mark = u.frames.length;
      u.ws.send(packWith(inner));
      const reply = await seen(u, (f) => f.type === 'error' || f.type === 'message.ack', `reply to ${name}`, mark);
      t.equal(reply.type, 'error', `${name}: refused`);
      // An extension msgpackr does not know fails the decoding itself (90001).
      t.equal(dataOf<{ code: number }>(reply).code, name === 'unknown ext' ? 90001 : 141004, `${name}: refused as ${name === 'unknown ext' ? 'not msgpack' : 'an illegal parameter'}`);
    }
    // Binary in the envelope, outside the body, too.
    const mark = u.frames.length;
    u.ws.send(packr.pack({ type: 'ping', ref: 'bin', data: { b: Buffer.alloc(10) } }));
    t.equal((await seen(u, (f) => f.ref === 'bin', 'reply to a binary ping', mark)).type, 'error', 'binary anywhere in a frame is refused');
    const history = await agent.request('history.sync', { sessionId: dataOf<{ sessionId: string }>(await seen(agent, (f) => f.type === 'session.assigned', 'assigned')).sessionId, afterSeq: 0 });
    t.notOk(JSON.stringify(history.data).includes('"n"'), 'none of them reached the history');
  });
});

t.test('regression: REST send_msg with an element key nested 1,500 levels deep is refused with the v4 envelope, and the server lives on', async (t) => {
  await survives(t, 'rest-deep', async (_u, agent, _u2, port) => {
    const sessionId = dataOf<{ sessionId: string }>(await seen(agent, (f) => f.type === 'session.assigned', 'assigned')).sessionId;
    const target = { port, sdkAppId: APP, key: KEY, admin: 'administrator' };
    const deep = `{"SessionId":"${sessionId}","MsgRandom":7,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"},"extra":${nested(1500)}}]}`;
    const r = await rest(target, 'desk_http_svc/send_msg', deep);
    t.equal(r.ActionStatus, 'FAIL');
    t.equal(r.ErrorCode, 141004, 'an illegal parameter');
    t.match(String(r.ErrorInfo), /nested too deeply/);
    const inContent = await rest(target, 'desk_http_svc/send_msg', { SessionId: sessionId, MsgRandom: 8, MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'x', n: JSON.parse(nested(12)) } }] });
    t.equal(inContent.ErrorCode, 90002, 'MsgContent nested past 8 levels is a bad element (90002), as over WebSocket');
  });
});
