/**
 * A socket's requests that a cluster node passed on to the node holding their conversation (or session), until they
 * are answered. When another node takes that conversation over after its node was lost (it says so with
 * `history.hint`), the requests still here may have been lost with that node: `takenOver` hands them back, to be
 * answered "retry".
 */
export interface PassedOn<R> { ref: R; conv?: string; sessionId?: string }

export class PassedOnRequests<R> {
  private readonly byRef = new Map<string, PassedOn<R>>();

  get size(): number {
    return this.byRef.size;
  }

  add(p: PassedOn<R>): void {
    this.byRef.set(String(p.ref), p);
  }

  answered(ref: R): void {
    this.byRef.delete(String(ref));
  }

  /** The requests for session `sessionId` or conversation `conv`, which are then no longer waited for here. */
  takenOver(sessionId: string | undefined, conv: string | undefined): PassedOn<R>[] {
    const out: PassedOn<R>[] = [];
    for (const [key, p] of this.byRef) {
      if ((sessionId === undefined || p.sessionId !== sessionId) && (conv === undefined || p.conv !== conv)) continue;
      this.byRef.delete(key);
      out.push(p);
    }
    return out;
  }
}
