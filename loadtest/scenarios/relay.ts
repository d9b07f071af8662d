/** relay: sessions already in service; users and agents exchange probes at the offered rate. */
import { serverFigures } from '../proc';
import { Tracker } from '../stats';
import { baselineRun, desk, inService, now, pump, summarize, warmUp, type Options, type Summary } from './common';

export async function relay(o: Options): Promise<Summary> {
  const { proc, target } = await desk(o, { maxConcurrentPerAgent: Math.ceil(o.users / o.agents) + 1 });
  let r;
  let server;
  try {
    const { pairs, users, agents } = await inService(target, o);
    const tracker = new Tracker(now());
    await warmUp(pairs, o, [...users, ...agents], proc.pid, true, tracker);
    const figures = await serverFigures(proc.port);
    r = await pump(pairs, o, tracker, proc.pid, true);
    server = await figures();
    for (const s of [...users, ...agents]) s.close();
  } finally {
    await proc.stop();
  }
  const base = o.baseline ? await baselineRun(o, o.users, r.sent, o.rate, o.warmupSec) : undefined;
  return summarize('relay', o, r, base, { server });
}
