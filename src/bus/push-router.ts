/**
 * Pushes to sockets on other nodes, by interest: a node listens on a recipient's subject while it holds at least one
 * of that recipient's sockets, so a push reaches exactly the nodes that have somewhere to deliver it, and nobody
 * keeps a table of which socket is where. The pushing node delivers to its own sockets itself and ignores its own
 * publication.
 */
import { Packr } from 'msgpackr';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Recipient } from '../../actors/types';
import type { ServerFrame } from '../../protocol/frames';
import { pushSubject } from './subjects';

interface Held { sub: Subscription; sockets: number }

/** How long a node waits for another to say it holds a socket of a recipient (none listening answers at once). */
const HELD_WAIT_MS = 1000;

export class PushRouter {
  private readonly packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
  private readonly held = new Map<string, Held>();
  /** Pushes delivered here from other nodes. */
  delivered = 0;

  constructor(
    private readonly nc: NatsConnection,
    readonly nodeId: string,
    /** Delivers a push from another node to this node's sockets of the recipient (but `exceptConn`). */
    private readonly deliver: (to: Recipient, frame: ServerFrame, exceptConn?: number) => void,
    /** Closes this node's sockets of the recipient, as another node asked (`closeEverywhere`). */
    private readonly closeHere: (to: Recipient, code: number, reason: string) => void = () => undefined,
  ) {}

  /** A socket of `to` opened here: pushes for it from other nodes arrive from now on (after `ready`). */
  hold(to: Recipient): void {
    const subject = pushSubject(to.role, to.app, to.id);
    const h = this.held.get(subject);
    if (h) {
      h.sockets++;
      return;
    }
    const sub = this.nc.subscribe(subject, { callback: (err, m) => { if (!err) this.received(to, m); } });
    this.held.set(subject, { sub, sockets: 1 });
  }

  /** A socket of `to` closed here; with its last one, this node stops listening. */
  release(to: Recipient): void {
    const subject = pushSubject(to.role, to.app, to.id);
    const h = this.held.get(subject);
    if (!h) return;
    if (--h.sockets > 0) return;
    this.held.delete(subject);
    h.sub.unsubscribe();
  }

  /** Resolves once the server has every subscription made so far. */
  ready(): Promise<void> {
    return this.nc.flush();
  }

  /** A push for `to`, for the other nodes holding a socket of it (but socket `exceptConn`, ids being cluster-wide). */
  push(to: Recipient, frame: ServerFrame, exceptConn?: number): void {
    this.nc.publish(pushSubject(to.role, to.app, to.id), this.packr.pack(exceptConn === undefined ? { from: this.nodeId, frame } : { from: this.nodeId, frame, except: exceptConn }));
  }

  /**
   * Whether another node holds a socket of `to`: asked of the nodes listening for it, the first to answer says yes;
   * with none listening NATS says so at once. A failure to ask counts as no.
   */
  async heldElsewhere(to: Recipient): Promise<boolean> {
    try {
      await this.nc.request(pushSubject(to.role, to.app, to.id), this.packr.pack({ from: this.nodeId, held: true }), { timeout: HELD_WAIT_MS });
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the recipient's sockets on the other nodes (those on this node are closed by its caller). */
  closeEverywhere(to: Recipient, code: number, reason: string): void {
    this.nc.publish(pushSubject(to.role, to.app, to.id), this.packr.pack({ from: this.nodeId, close: [code, reason] }));
  }

  close(): void {
    for (const h of this.held.values()) h.sub.unsubscribe();
    this.held.clear();
  }

  private received(to: Recipient, msg: Msg): void {
    let m: { from?: unknown; frame?: { type?: unknown }; except?: unknown; close?: unknown; held?: unknown };
    try {
      m = this.packr.unpack(msg.data) as typeof m;
    } catch {
      return;
    }
    if (!m || m.from === this.nodeId) return;
    if (m.held === true) {
      // Listening means a socket of the recipient is open here.
      if (msg.reply) msg.respond();
      return;
    }
    if (m.close !== undefined) {
      const [code, reason] = Array.isArray(m.close) ? m.close as unknown[] : [];
      // A WebSocket close code an application may send, and a reason that fits a close frame.
      if (Number.isInteger(code) && (code as number) >= 1000 && (code as number) <= 4999 && typeof reason === 'string' && Buffer.byteLength(reason) <= 123) this.closeHere(to, code as number, reason);
      return;
    }
    if (typeof m.frame !== 'object' || m.frame === null || typeof m.frame.type !== 'string') return;
    this.delivered++;
    this.deliver(to, m.frame as ServerFrame, Number.isSafeInteger(m.except) ? (m.except as number) : undefined);
  }
}
