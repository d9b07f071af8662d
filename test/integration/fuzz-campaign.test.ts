/** The frame fuzzing campaign (see _fuzz.ts): FUZZ_FRAMES frames (80,000 by default), then a normal conversation. */
import t from 'tap';
import { campaign, FRAMES, SEED } from './_fuzz';

t.test(`fuzz campaign: ${FRAMES} random and mutated frames, then a normal conversation (seed ${SEED})`, async (t) => {
  await campaign(t, { seed: SEED, frames: FRAMES, budgetMs: Math.max(110_000, FRAMES * 2) });
});
