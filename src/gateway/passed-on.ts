/**
 * A socket's requests that a cluster node passed on to the node holding their conversation (or session), until they
 * are answered. When another node takes that conversation over after its node was lost (it says so with
 * `history.hint`), the requests still here may have been lost with that node: `takenOver` hands them back, to be
 * answered "retry". A late answer to one of them may still come (the node was not lost after all): `answered` tells
 * it apart, as it answers no request still waited for.
 */
export interface PassedOn<R> { ref: R; conv?: string; sessionId?: string }

export class PassedOnRequests<R> {
  private readonly byRef = new Map<string, PassedOn<R>>();
  /** Per ref, the requests answered "retry" whose own answer may still come. */
  private readonly retried = new Map<string, number>();

  get size(): number {
    return this.byRef.size;
  }

  add(p: PassedOn<R>): void {
    this.byRef.set(String(p.ref), p);
  }

  /** An answer to request `ref` came: false when it is the late answer of one already answered "retry". */
  answered(ref: R): boolean {
    const key = String(ref);
    if (this.byRef.delete(key)) return true;
    const n = this.retried.get(key);
    if (n === undefined) return true;
    if (n > 1) this.retried.set(key, n - 1);
    else this.retried.delete(key);
    return false;
  }

  /** The requests for session `sessionId` or conversation `conv`, which are then no longer waited for here. */
  takenOver(sessionId: string | undefined, conv: string | undefined): PassedOn<R>[] {
    const out: PassedOn<R>[] = [];
    for (const [key, p] of this.byRef) {
      if ((sessionId === undefined || p.sessionId !== sessionId) && (conv === undefined || p.conv !== conv)) continue;
      this.byRef.delete(key);
      this.retried.set(key, (this.retried.get(key) ?? 0) + 1);
      out.push(p);
    }
    return out;
  }
}
