/** Task flows ranked by their intents: each enabled flow's name and start-node phrasings are its documents. */
import type { RankedQuestion } from '../../actors/types';
import type { TaskFlow } from '../../protocol/task-flow';
import { features, type Features } from './features';
import { Matcher } from './matcher';

export class TaskIntents {
  /** An index per list of flows: a robot's list is replaced, not changed, when a flow is written. */
  private readonly indexes = new WeakMap<readonly TaskFlow[], Matcher>();

  rank(flows: readonly TaskFlow[], query: Features | string, limit: number): RankedQuestion[] {
    let m = this.indexes.get(flows);
    if (!m) {
      m = new Matcher(flows.filter((f) => f.enabled).flatMap((f) => [f.name, ...f.intents].map((text) => ({ questionId: String(f.id), text }))));
      this.indexes.set(flows, m);
    }
    const q = typeof query === 'string' ? features(query) : query;
    return m.rankFeatures(q, limit).map((hit) => ({
      id: hit.questionId, question: flows.find((f) => String(f.id) === hit.questionId)?.name ?? '', answer: '', answerType: 0, score: hit.score, matched: hit.matched,
    }));
  }
}
