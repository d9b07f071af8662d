/**
 * Matching by meaning, in parts: an embeddings answer is checked before it is believed; the vectors kept per app
 * (batches, a failing embedder left alone, another model starting afresh); a session that waits for a question's
 * vector answers it when told, or at its deadline, and answers it before the next question.
 */
import t from 'tap';
import pino from 'pino';
import { defaultEmbeddingSettings, type AppModel, type EmbeddingSettings } from '../../protocol/app-model';
import { vectorsOf, type Embedder } from '../../src/knowledge/embedder';
import { calibrated, MAX_PHRASINGS, SemanticVectors } from '../../src/knowledge/semantic';
import { Sim } from '../helpers/sim';
import { conceptVector } from '../helpers/fake-embeddings';

t.test('vectorsOf: one finite vector per text, one length, placed by index, scaled to length 1', async (t) => {
  const [a, b] = vectorsOf({ data: [{ index: 1, embedding: [0, 2] }, { index: 0, embedding: [3, 4] }] }, 2);
  t.same([...a!], [0.6000000238418579, 0.800000011920929], 'by index, normalised');
  t.same([...b!], [0, 1]);
  t.throws(() => vectorsOf({ data: [{ embedding: [1] }] }, 2), /expected 2 vectors/);
  t.throws(() => vectorsOf({ data: [{ embedding: [1, 'x'] }] }, 1), /not a list of numbers/);
  t.throws(() => vectorsOf({ data: [{ embedding: [1, Infinity] }] }, 1), /not a list of numbers/);
  t.throws(() => vectorsOf({ data: [{ embedding: [1, 2] }, { embedding: [1] }] }, 2), /different lengths/);
  t.throws(() => vectorsOf({ data: [{ index: 0, embedding: [1] }, { index: 0, embedding: [1] }] }, 2), /index is missing/);
  t.throws(() => vectorsOf('nonsense', 1), /expected 1 vectors/);
});

t.test('calibrated: the configured cosine band onto 0–1', async (t) => {
  const s = { scoreFrom: 0.5, scoreTo: 0.9 };
  t.equal(calibrated(0.4, s), 0);
  t.equal(calibrated(0.7, s), 0.4999999999999999);
  t.equal(calibrated(0.95, s), 1);
});

function vectorsWith(embed: Embedder['embed'], settings: Partial<EmbeddingSettings> = {}) {
  let now = 0;
  const app = { embeddings: { ...defaultEmbeddingSettings, baseUrl: 'http://127.0.0.1:9/v1', model: 'm', ...settings } } as unknown as AppModel;
  const made: string[] = [];
  const v = new SemanticVectors({
    app: () => app, log: pino({ level: 'silent' }), now: () => now,
    embedderFor: (s) => { made.push(s.model); return { embed }; },
  });
  return { v, app, made, tick: (ms: number) => { now += ms; } };
}

t.test('SemanticVectors: batches in the background, a failing embedder left alone, another model afresh', async (t) => {
  const batches: string[][] = [];
  const ok: Embedder['embed'] = async (texts) => { batches.push([...texts]); return texts.map((s) => Float32Array.from(conceptVector(s))); };
  const { v, app, made } = vectorsWith(ok);
  t.ok(v.awaits(1, 'where is my parcel'), 'a question without a vector waits');
  v.want(1, Array.from({ length: 100 }, (_, i) => `phrasing ${i}`));
  t.equal(await v.query(1, 'where is my parcel'), true);
  t.ok(v.vectorOf(1, 'phrasing 99'), 'the phrasings asked for meanwhile are there when the question is');
  t.same(batches.map((b) => b.length).sort((a, b) => a - b), [1, 36, 64], 'phrasings in batches of 64');
  t.notOk(v.awaits(1, 'where is my parcel'), 'known now');

  app.embeddings = { ...app.embeddings!, model: 'other' };
  t.notOk(v.vectorOf(1, 'phrasing 1'), 'another model: the vectors of the last one are not used');
  t.same(made, ['m', 'other']);

  let calls = 0;
  const failing = vectorsWith(async () => { calls++; throw new Error('down'); });
  t.equal(await failing.v.query(1, 'x'), false);
  t.notOk(failing.v.awaits(1, 'y'), 'after a failure questions do not wait');
  t.equal(await failing.v.query(1, 'y'), false);
  t.equal(calls, 1, 'nor is it asked');
  failing.tick(30_000);
  t.ok(failing.v.awaits(1, 'y'), 'until the pause is over');
});

t.test('past 5,000 phrasings, those no ranking used for ten minutes make room; those in use stay', async (t) => {
  const ok: Embedder['embed'] = async (texts) => texts.map((s) => Float32Array.from(conceptVector(s)));
  const { v, tick } = vectorsWith(ok);
  v.want(1, Array.from({ length: MAX_PHRASINGS }, (_, i) => `old ${i}`));
  await v.query(1, 'never asked');
  t.ok(v.vectorOf(1, `old ${MAX_PHRASINGS - 1}`), 'full');
  v.want(1, ['new 1']);
  await v.query(1, 'q2');
  t.notOk(v.vectorOf(1, 'new 1'), 'no room while every phrasing is fresh');
  tick(5 * 60_000);
  t.ok(v.vectorOf(1, 'old 0'), 'a ranking uses one');
  tick(6 * 60_000);
  v.want(1, ['new 1']);
  await v.query(1, 'q3');
  t.ok(v.vectorOf(1, 'new 1'), 'room made by the unused ones');
  t.ok(v.vectorOf(1, 'old 0'), 'the one in use was kept');
  t.notOk(v.vectorOf(1, 'old 1'), 'an unused one went');
});

t.test('a session waits for the question\'s vector, then answers; the next question or its deadline answers it too', async (t) => {
  const sim = new Sim({ awaitsMeaning: () => true });
  sim.app.embeddings = { ...defaultEmbeddingSettings, baseUrl: 'http://127.0.0.1:9/v1', model: 'm' };
  sim.enter('u1');
  // What the robot and the system said to u1 (u1's own messages are pushed to u1's other sockets too).
  const answers = () => sim.seen('user', 'u1').filter((f) => f.type === 'message' && (f.data as { fromRole: number }).fromRole === 3).length;
  const before = answers();
  sim.say('u1', 'where is my parcel');
  t.equal(answers(), before, 'no answer yet');
  t.match(sim.embeds, [{ text: 'where is my parcel', sessionId: sim.sid('u1') }], 'its vector is asked for');
  sim.tell(sim.conv('u1'), { type: 'questionEmbedded', sessionId: sim.sid('u1'), seq: sim.embeds[0]!.seq });
  sim.run();
  t.equal(answers(), before + 1, 'answered once told');

  sim.say('u1', 'first');
  sim.say('u1', 'second');
  t.equal(answers(), before + 2, 'the first question is answered when the second comes');
  t.equal(sim.session('u1').cur!.pendingQuestion?.text, 'second');
  sim.tell(sim.conv('u1'), { type: 'questionEmbedded', sessionId: sim.sid('u1'), seq: sim.embeds[1]!.seq });
  sim.run();
  t.equal(answers(), before + 2, 'word for an earlier question changes nothing');
  sim.advance(defaultEmbeddingSettings.timeoutMs + 2000);
  t.equal(answers(), before + 3, 'the deadline answers it');
  t.equal(sim.session('u1').cur!.pendingQuestion, undefined);

  sim.connect('alice@desk.test');
  sim.say('u1', '转人工');
  t.equal(sim.session('u1').cur!.agentId, 'alice@desk.test', 'a to-human keyword does not wait');
});
