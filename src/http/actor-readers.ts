/**
 * What REST calls read of an agent or a queue, as runtime readers run on the node that holds the actor (in a
 * cluster, maybe not the node answering the call: another node's copy would be stale). Queries may come from other
 * nodes, so each is checked first.
 */
import Validator from 'fastest-validator';
import type { AgentState } from '../../actors/agent';
import type { QueueState } from '../../actors/queue';
import { ErrorCode } from '../../protocol/errors';
import type { AgentStatus } from '../../protocol/frames';
import type { Runtime } from '../runtime/runtime';
import { RestError, type RestContext } from './facade';

export const AGENT_STATUS_READER = 'agentStatus';
export const QUEUE_WAITING_READER = 'queueWaiting';

const v = new Validator({ haltOnFirstError: true });
const checkAgent = v.compile({ $$root: true, type: 'object', strict: true, props: { conv: { type: 'string', min: 7, max: 512, pattern: /^agent:/ } } });
const checkQueue = v.compile({ $$root: true, type: 'object', strict: true, props: { conv: { type: 'string', min: 7, max: 512, pattern: /^queue:/ } } });

function addressIn(check: (q: unknown) => true | unknown, query: unknown): string {
  if (check(query) !== true) throw new Error('malformed actor query');
  return (query as { conv: string }).conv;
}

export function actorReaders(runtime: () => Runtime): Record<string, (query: unknown) => unknown> {
  return {
    [AGENT_STATUS_READER]: (query): AgentStatus => runtime().peek<AgentState>(addressIn(checkAgent, query)).status,
    [QUEUE_WAITING_READER]: (query): number => runtime().peek<QueueState>(addressIn(checkQueue, query)).waiting.length,
  };
}

/** A reader's answer, run where the actor `address` is (a conversation, an agent, a queue). */
export function readAt<T>(ctx: RestContext, address: string, name: string, query: Record<string, unknown> = {}): Promise<T> {
  return readOn<T>(ctx.deps.runtime, address, name, query);
}

/** `readAt` outside a REST call. */
export async function readOn<T>(runtime: Runtime, address: string, name: string, query: Record<string, unknown> = {}): Promise<T> {
  const r = await runtime.read(address, name, { conv: address, ...query });
  if (!r.ok) throw new RestError(ErrorCode.Internal, r.info ?? 'read failed, retry');
  return r.data as T;
}
