/**
 * A load client that rides out the loss of the node it is connected to, as a real client does: when its socket
 * closes under it, it connects to another node, catches up with `history.sync` from the last seq it saw of each
 * conversation, and sends again what was not answered. A conversation whose node was lost says how far it stored
 * (`history.hint`), and the client catches up if it saw less. Requests carry a ref; one answered "retry" (the partition of
 * its session is moving) is sent again as is (a user's message with the same `random`, which the server
 * acknowledges again instead of storing twice).
 *
 * `onFrame` sees every frame but messages, and each stored message once (by conversation and seq), live or caught up
 * (its own too: a conversation's history holds them).
 */
import { ErrorCode } from '../protocol/errors';
import type { ServerFrame } from '../protocol/frames';
import { LoadSocket, type Target } from './client';
import { CS } from './proc';

/** How long a closed socket keeps trying to connect again, and how often. */
const RECONNECT_FOR_MS = 60_000;
const RETRY_MS = 250;

interface MessageData { seq: number; sessionId: string; fromRole: number }

export class ResumingClient {
  onFrame: (f: ServerFrame) => void = () => undefined;
  reconnects = 0;
  private sock!: LoadSocket;
  /** Per conversation (the account for a user, the session for an agent): the last seq seen, and every seq seen. */
  private readonly lastSeq = new Map<string, number>();
  private readonly seen = new Map<string, Set<number>>();
  /** Requests not yet answered, by ref. */
  private readonly pending = new Map<string, { type: string; data: unknown }>();
  private refs = 0;
  private closed = false;

  private constructor(private readonly target: Target, readonly identity: string, readonly role: 'user' | 'agent', private readonly alive: () => number[]) {}

  /** Connects `identity`; `alive`: the ports of the nodes still up (reconnects go to one of them). */
  static async open(target: Target, identity: string, role: 'user' | 'agent', alive: () => number[] = () => target.ports ?? [target.port]): Promise<ResumingClient> {
    const c = new ResumingClient(target, identity, role, alive);
    c.wire(await LoadSocket.desk({ ...target, ports: alive() }, identity, role));
    return c;
  }

  /** Sends a request; it is sent again until answered with anything but "retry". */
  send(type: string, data: unknown): void {
    const ref = `q${++this.refs}`;
    this.pending.set(ref, { type, data });
    this.sock.send(type, data, ref);
  }

  close(): void {
    this.closed = true;
    this.sock.close();
  }

  private wire(sock: LoadSocket): void {
    this.sock = sock;
    sock.onFrame = (f) => this.receive(f);
    sock.onClose = () => { if (!this.closed && this.sock === sock) void this.reconnect(); };
  }

  private receive(f: ServerFrame): void {
    const ref = f.ref === undefined ? undefined : String(f.ref);
    if (ref !== undefined && this.pending.has(ref)) {
      if (f.type === 'error' && (f.data as { code?: number }).code === ErrorCode.Internal) {
        const again = this.pending.get(ref)!;
        setTimeout(() => { if (!this.closed && this.pending.has(ref)) this.sock.send(again.type, again.data, ref); }, RETRY_MS);
        return;
      }
      this.pending.delete(ref);
    }
    if (f.type === 'history') {
      for (const m of (f.data as { messages: MessageData[] }).messages) this.message({ type: 'message', data: m } as ServerFrame);
      return;
    }
    if (f.type === 'message') {
      this.message(f);
      return;
    }
    // A conversation taken over by another node says up to where it stored: caught up on if this client saw less.
    if (f.type === 'history.hint') {
      const d = f.data as MessageData;
      if (d.seq > (this.lastSeq.get(this.role === 'user' ? CS : d.sessionId) ?? 0)) this.catchUp(d.sessionId);
      return;
    }
    // A member (re)connecting is told the sessions it holds: those it missed are caught up on.
    if (f.type === 'agent.state' && this.reconnects > 0) {
      for (const s of (f.data as { sessions: { sessionId: string }[] }).sessions) this.catchUp(s.sessionId);
    }
    this.onFrame(f);
  }

  private message(f: ServerFrame): void {
    const d = f.data as MessageData;
    // Transient messages (seq 0: not stored) come once, live.
    if (d.seq === 0) {
      this.onFrame(f);
      return;
    }
    const conv = this.role === 'user' ? CS : d.sessionId;
    let seen = this.seen.get(conv);
    if (!seen) this.seen.set(conv, (seen = new Set()));
    if (seen.has(d.seq)) return;
    seen.add(d.seq);
    this.lastSeq.set(conv, Math.max(this.lastSeq.get(conv) ?? 0, d.seq));
    this.onFrame(f);
  }

  private catchUp(sessionId?: string): void {
    if (this.role === 'user') this.send('history.sync', { to: CS, afterSeq: this.lastSeq.get(CS) ?? 0, limit: 1000 });
    else if (sessionId !== undefined) this.send('history.sync', { sessionId, afterSeq: this.lastSeq.get(sessionId) ?? 0, limit: 1000 });
  }

  private async reconnect(): Promise<void> {
    const until = Date.now() + RECONNECT_FOR_MS;
    for (let attempt = 0; !this.closed && Date.now() < until; attempt++) {
      const ports = this.alive();
      try {
        const sock = await LoadSocket.open(LoadSocket.url({ ...this.target, ports: [ports[attempt % ports.length]] }, this.identity, this.role), this.target.encoding);
        if (this.closed) {
          sock.close();
          return;
        }
        this.reconnects++;
        this.wire(sock);
        // What was not answered goes again, then what was missed is caught up on (an agent's sessions: once it is
        // told which it holds).
        for (const [ref, p] of this.pending) sock.send(p.type, p.data, ref);
        this.catchUp();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }
}
