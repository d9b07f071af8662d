/** relay: sessions already in service; users and agents exchange probes at the offered rate. */
import { Tracker } from '../stats';
import { baselineRun, desk, inService, now, pump, summarize, track, type Options, type Summary } from './common';

export async function relay(o: Options): Promise<Summary> {
  const { proc, target } = await desk(o, { maxConcurrentPerAgent: Math.ceil(o.users / o.agents) + 1 });
  let r;
  try {
    const { pairs, users, agents } = await inService(target, o);
    const tracker = new Tracker(now());
    for (const s of [...users, ...agents]) track(s, tracker);
    r = await pump(pairs, o, tracker, proc.pid, true);
    for (const s of [...users, ...agents]) s.close();
  } finally {
    await proc.stop();
  }
  const base = o.baseline ? await baselineRun(o, o.users, r.sent, o.rate) : undefined;
  return summarize('relay', o, r, base);
}
