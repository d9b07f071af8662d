/** Builds one decision: events are folded into a working state as they are emitted, so later steps see them. */
import type { Decision, Effect, ReplyTo } from './types';

export class Turn<S, E> {
  readonly events: E[] = [];
  readonly effects: Effect[] = [];
  constructor(public state: S, private readonly evolve: (s: S, e: E) => S) {}

  emit(event: E): void {
    this.events.push(event);
    this.state = this.evolve(this.state, event);
  }

  do(effect: Effect): void {
    this.effects.push(effect);
  }

  /** A refusal answered to the requester; nothing else happens. */
  refuse(replyTo: ReplyTo | undefined, code: number, info?: string): void {
    if (!replyTo) return;
    this.effects.push({ t: 'reply', replyTo, ok: false, code, info });
  }

  done(): Decision<E, S> {
    return { events: this.events, effects: this.effects, state: this.state };
  }
}
