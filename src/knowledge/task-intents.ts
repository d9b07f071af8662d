/** Task flows ranked by their intents: each enabled flow's name and start-node phrasings are its documents. */
import type { RankedQuestion } from '../../actors/types';
import type { TaskFlow } from '../../protocol/task-flow';
import { features, type Features } from './features';
import { Matcher, meaningOf } from './matcher';
import type { Blend } from './semantic';

/** What a flow is matched by: its name and its intents. */
export const intentsOf = (f: TaskFlow): string[] => [f.name, ...f.intents];

export class TaskIntents {
  /** An index per list of flows: a robot's list is replaced, not changed, when a flow is written. */
  private readonly indexes = new WeakMap<readonly TaskFlow[], Matcher>();

  /** `byMeaning`: word matches blended with meaning (the knowledge base's blend), when the app matches by meaning. */
  rank(flows: readonly TaskFlow[], query: Features | string, limit: number, byMeaning?: Blend): RankedQuestion[] {
    let m = this.indexes.get(flows);
    const enabled = flows.filter((f) => f.enabled);
    if (!m) {
      m = new Matcher(enabled.flatMap((f) => intentsOf(f).map((text) => ({ questionId: String(f.id), text }))));
      this.indexes.set(flows, m);
    }
    let hits = m.rankFeatures(typeof query === 'string' ? features(query) : query, limit);
    if (byMeaning) hits = byMeaning(hits, enabled.map((f) => ({ id: String(f.id), phrasings: intentsOf(f) }))).sort((a, b) => b.score - a.score).slice(0, limit);
    return hits.map((hit) => ({
      id: hit.questionId, question: flows.find((f) => String(f.id) === hit.questionId)?.name ?? '', answer: '', answerType: 0, score: hit.score, matched: hit.matched,
      ...meaningOf(hit),
    }));
  }
}
