/**
 * WebSocket gateway: authenticates sockets by UserSig, turns validated frames into actor messages, and carries
 * pushes and replies back to the sockets of a user or member (corked per batch).
 */
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_socket_context_t } from '@trufflesuite/uws-js-unofficial';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { agentAddress, chatGroupOf, groupConvUser, sessionAddress } from '../../actors/address';
import { messageFrame, type SessionState } from '../../actors/session';
import { firstSocketId, NODE_TAGS, RUNS } from '../../actors/sockets';
import type { Recipient, ReplyTo } from '../../actors/types';
import { CloseCode, defaultInfo, ErrorCode } from '../../protocol/errors';
import {
  decodeRaw, encodeFrame, Encoding, MAX_FRAME_BYTES, Role, validateFrame,
  type AgentSend, type ClientFrame, type HistorySync, type Ref, type ServerFrame, type TransferRequest, type UserSend,
} from '../../protocol/frames';
import { accountOf, memberActive, memberOf, serviceSideId, type AppModel } from '../../protocol/app-model';
import { MAX_MAIL } from '../../protocol/app-schema';
import { SigVerifier } from '../auth/sigs';
import { PassedOnRequests } from './passed-on';
import type { AppRegistry } from '../config/apps';
import type { Metrics } from '../metrics';
import { fnv1a } from '../cluster/partitions';
import type { Clock } from '../runtime/clock';
import type { Outlet, Reply, Runtime } from '../runtime/runtime';
import { SESSION_STATE_READER, type SessionStateView } from '../http/session-readers';
import { HISTORY_READER } from '../store/history-reader';
import type { HistoryPage, SessionIndex, Store } from '../store/store';

interface ConnData {
  id: number;
  app: number;
  identity: string;
  role: Role;
  enc: Encoding;
  /** Set when authentication failed: the socket is told why and closed on open. */
  refused?: { code: number; info: string; close: number };
  /** The peer's address, for the per-address socket cap. */
  ip: string;
  invalid: number;
  /** Frames handed to actors whose replies have not been sent yet. */
  awaiting: number;
  /** In a cluster: requests passed on to another node and not answered yet. */
  elsewhere?: PassedOnRequests<Ref | undefined>;
  /** Set when the socket is to be closed: it takes no more frames and closes once its awaited replies are sent. */
  closing?: { code: number; reason: string };
  /** The socket's token bucket: its role's refill rate and burst, fixed at connect. */
  rate: number;
  burst: number;
  tokens: number;
  refilledAt: number;
  /** Frames to send when the batch being released ends (kept, emptied, reused). */
  out: (string | Buffer)[];
}

/** The answer to a request whose conversation another node took over before answering it (its node was lost). */
const TAKEN_OVER: Reply = { ok: false, code: ErrorCode.Internal, info: 'the conversation moved to another server node before answering; send again' };

export interface GatewayLimits {
  /** Frames per second a user socket may send (token bucket refill), and the burst it may save up. */
  framesPerSec: number;
  burst: number;
  /** The same for member sockets: one member serves many users at once. */
  agentFramesPerSec: number;
  agentBurst: number;
  /** Invalid frames tolerated before the socket is closed with 4501. */
  invalidBeforeClose: number;
  /** Bytes buffered for a socket before it is closed as a slow consumer (4008). */
  maxBackpressure: number;
  /** Messages returned by one history.sync. */
  historyPage: number;
  /** Open sockets one user or member may hold at once (0: no cap). */
  socketsPerIdentity: number;
  /** Open sockets from one peer address (0: no cap; behind a proxy every socket has the proxy's address). */
  socketsPerIp: number;
  /** How long a closing socket waits for the replies it is owed before it closes anyway. */
  closeGraceMs: number;
}

export const defaultLimits: GatewayLimits = {
  framesPerSec: 200, burst: 400, agentFramesPerSec: 2000, agentBurst: 4000, invalidBeforeClose: 50, maxBackpressure: 4 * 1024 * 1024, historyPage: 200,
  socketsPerIdentity: 16, socketsPerIp: 0, closeGraceMs: 5000,
};

const recipientKey = (role: string, app: number, id: string): string => `${role}|${app}|${id}`;

/** In a cluster: the nodes that hold a recipient's sockets hear its pushes (src/bus/push-router.ts). */
export interface RecipientInterest {
  /** This node's id (its sockets are numbered from its tag, `nodeTag`). */
  readonly nodeId: string;
  hold(to: Recipient): void;
  release(to: Recipient): void;
  /** Whether another node holds a socket of `to`. */
  heldElsewhere(to: Recipient): Promise<boolean>;
}

/** `mayRead`'s answer for a session held by another node: ask it. */
const ASK_OWNER = 'ask';

/** Whether the member, or one of the groups given, serves the conversation's current session. */
const serves = (cur: SessionStateView, memberId: string, groups: readonly number[]): boolean =>
  !!cur && (cur.agentId === memberId || groups.includes(cur.groupId));

/** A cluster node's tag in its socket ids (1 and up; two nodes whose ids hash alike share one: name them apart). */
export const nodeTag = (nodeId: string): number => 1 + (fnv1a(nodeId) % (NODE_TAGS - 1));

export class Gateway implements Outlet {
  private readonly conns = new Map<number, WebSocket<ConnData>>();
  private readonly byRecipient = new Map<string, Set<number>>();
  private readonly perIp = new Map<string, number>();
  /** Set by `stopIntake`: frames are refused while the server drains. */
  private draining = false;
  private nextId = 1;
  private batching = 0;
  /** Sockets with frames waiting for the end of the batch being released. */
  private readonly corked: number[] = [];
  /**
   * The last frame pushed and its encodings: a frame pushed to many recipients (a group chat's members) is pushed to
   * them one after another, and encoded once. Fields rather than an object per push: this runs for every message.
   */
  private lastPushed?: ServerFrame;
  private lastJson?: string | Buffer;
  private lastPack?: string | Buffer;

  constructor(
    private readonly runtime: Runtime,
    private readonly store: Store,
    private readonly apps: AppRegistry,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: Metrics | undefined,
    private readonly sigs: SigVerifier,
    private readonly limits: GatewayLimits = defaultLimits,
    private readonly interest?: RecipientInterest,
  ) {
    // Socket ids name sockets of any node in a cluster (an agent's sockets, the socket a message came from): each node
    // numbers from its own tag and a random run (actors/sockets.ts).
    if (interest) this.nextId = firstSocketId(nodeTag(interest.nodeId), randomInt(0, RUNS));
  }

  mount(app: TemplatedApp): void {
    app.ws<ConnData>('/v4/ws', {
      // Larger than the frame limit, so an oversized frame gets an error frame rather than a dropped socket.
      maxPayloadLength: 16 * MAX_FRAME_BYTES,
      idleTimeout: 120,
      maxBackpressure: this.limits.maxBackpressure,
      sendPingsAutomatically: true,
      upgrade: (res, req, ctx) => this.upgrade(res, req, ctx),
      open: (ws) => this.open(ws),
      message: (ws, msg, isBinary) => this.message(ws, msg, isBinary),
      close: (ws) => this.close(ws),
    });
  }

  connectionCount(): number {
    return this.conns.size;
  }

  /** Closes every socket of one user or member (a member forced offline gets 4500: do not reconnect). */
  closeRecipient(role: Role, app: number, id: string, code: number, reason: string): void {
    for (const connId of [...(this.byRecipient.get(recipientKey(role, app, id)) ?? [])]) this.conns.get(connId)?.end(code, reason);
  }

  /**
   * First step of a shutdown: frames are refused from now on (clients are told to retry). Once the runtime has
   * released what it owes, `shutdown` closes the sockets: every frame accepted before is acknowledged first.
   */
  stopIntake(): void {
    this.draining = true;
  }

  /** Closes every socket with 4000 (reconnect). */
  shutdown(): void {
    for (const ws of [...this.conns.values()]) ws.end(CloseCode.Shutdown, 'server shutting down');
  }

  private authenticate(q: URLSearchParams): Pick<ConnData, 'app' | 'identity' | 'role' | 'refused' | 'enc'> {
    const app = Number(q.get('sdkappid'));
    const identity = q.get('identifier') ?? '';
    const roleParam = q.get('role') ?? Role.User;
    const role = roleParam === Role.Agent ? Role.Agent : Role.User;
    // Frames pushed before the client's first frame use this encoding; afterwards, the client's own.
    const encoding = q.get('encoding');
    const enc = encoding === 'msgpack' ? Encoding.Msgpack : Encoding.Json;
    const refuse = (code: number, info: string, close: number = CloseCode.Unauthorized) => ({ app, identity, role, enc, refused: { code, info, close } });
    if (roleParam !== Role.User && roleParam !== Role.Agent) return refuse(ErrorCode.BadParameter, "role must be 'user' or 'agent'", CloseCode.ProtocolViolation);
    if (encoding !== null && encoding !== 'json' && encoding !== 'msgpack') return refuse(ErrorCode.BadParameter, "encoding must be 'json' or 'msgpack'", CloseCode.ProtocolViolation);
    const model = Number.isInteger(app) ? this.apps.get(app) : undefined;
    if (!model) return refuse(ErrorCode.NotDeskApp, defaultInfo[ErrorCode.NotDeskApp]);
    // A user's UserID is at most 64 characters; an agent's is its member mail, at most 128.
    if (!identity || identity.length > (role === Role.Agent ? MAX_MAIL : 64) || identity.includes('|') || /[\x00-\x1f]/.test(identity)) return refuse(ErrorCode.BadIdentity, 'identifier missing or invalid');
    const check = this.sigs.check(q.get('usersig') ?? '', app, identity, model.secretKey, Math.floor(this.clock.now() / 1000));
    if (!check.ok) return refuse(check.code, check.info);
    const member = memberOf(model, identity);
    if (role === Role.Agent && !memberActive(member)) return refuse(ErrorCode.BadIdentity, 'identifier is not an enabled member of this app; the agent role is refused');
    if (role === Role.User && serviceSideId(model, identity)) {
      return refuse(ErrorCode.BadIdentity, 'members, customer-service accounts and the admin cannot connect as users');
    }
    return { app, identity, role, enc };
  }

  private upgrade(res: HttpResponse, req: HttpRequest, ctx: us_socket_context_t): void {
    const auth = this.authenticate(new URLSearchParams(req.getQuery() ?? ''));
    const [rate, burst] = auth.role === Role.Agent ? [this.limits.agentFramesPerSec, this.limits.agentBurst] : [this.limits.framesPerSec, this.limits.burst];
    const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
    const data: ConnData = { id: this.nextId++, ip, invalid: 0, awaiting: 0, rate, burst, tokens: burst, refilledAt: this.clock.now(), out: [], ...auth };
    res.upgrade(data, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), ctx);
  }

  private open(ws: WebSocket<ConnData>): void {
    const d = ws.getUserData();
    d.refused ??= this.overCap(d);
    if (d.refused) {
      ws.send(encodeFrame({ type: 'error', data: { code: d.refused.code, info: d.refused.info } }, d.enc), d.enc === Encoding.Msgpack);
      ws.end(d.refused.close, d.refused.info.slice(0, 100));
      return;
    }
    this.conns.set(d.id, ws);
    this.perIp.set(d.ip, (this.perIp.get(d.ip) ?? 0) + 1);
    const key = recipientKey(d.role, d.app, d.identity);
    let set = this.byRecipient.get(key);
    if (!set) this.byRecipient.set(key, (set = new Set()));
    set.add(d.id);
    this.interest?.hold({ role: d.role, app: d.app, id: d.identity });
    this.metrics?.connection(d.role, 1);
    if (d.role === Role.Agent) this.runtime.tell(agentAddress(d.app, d.identity), { type: 'connected', conn: d.id });
    else if (set.size === 1) this.presence(d, 'userOnline');
  }

  /** The refusal of a socket past a cap: the newest is refused, the ones already open keep serving. */
  private overCap(d: ConnData): ConnData['refused'] {
    const { socketsPerIdentity, socketsPerIp } = this.limits;
    const mine = this.byRecipient.get(recipientKey(d.role, d.app, d.identity))?.size ?? 0;
    if (socketsPerIdentity > 0 && mine >= socketsPerIdentity) {
      return { code: ErrorCode.RateLimited, info: `'${d.identity}' already has ${mine} open sockets, the most one ${d.role} may hold; close one first`, close: CloseCode.TooManySockets };
    }
    const fromIp = this.perIp.get(d.ip) ?? 0;
    if (socketsPerIp > 0 && fromIp >= socketsPerIp) {
      return { code: ErrorCode.RateLimited, info: `${fromIp} sockets are open from ${d.ip}, the most one address may hold`, close: CloseCode.TooManySockets };
    }
    return undefined;
  }

  private close(ws: WebSocket<ConnData>): void {
    const d = ws.getUserData();
    if (!this.conns.delete(d.id)) return;
    const fromIp = (this.perIp.get(d.ip) ?? 1) - 1;
    if (fromIp > 0) this.perIp.set(d.ip, fromIp);
    else this.perIp.delete(d.ip);
    const key = recipientKey(d.role, d.app, d.identity);
    const set = this.byRecipient.get(key);
    set?.delete(d.id);
    if (set && set.size === 0) this.byRecipient.delete(key);
    this.interest?.release({ role: d.role, app: d.app, id: d.identity });
    this.metrics?.connection(d.role, -1);
    if (d.role === Role.Agent) this.runtime.tell(agentAddress(d.app, d.identity), { type: 'disconnected', conn: d.id });
    else if (!set || set.size === 0) void this.userGone(d, key);
  }

  /**
   * The user's last socket here closed: gone, unless another node holds one (or one opened here meanwhile). Not told
   * when the server is stopping: its users are told to reconnect, and a server starting again tells their sessions
   * itself (a cluster node tells nothing, as when one is lost).
   */
  private async userGone(d: ConnData, key: string): Promise<void> {
    try {
      if (this.draining) return;
      if (this.interest && await this.interest.heldElsewhere({ role: d.role, app: d.app, id: d.identity })) return;
      if (!this.byRecipient.has(key) && !this.draining) this.presence(d, 'userOffline');
    } catch (err) {
      this.log.warn({ err, conn: d.id }, "a user's sessions could not be told the user went");
    }
  }

  /** Tells the user's active sessions that the user came or went (queue-offline auto-end, T17). */
  private presence(d: ConnData, type: 'userOnline' | 'userOffline'): void {
    // In a cluster the user's conversations may be on other nodes: each account's is asked of its node.
    const model = this.interest && this.apps.get(d.app);
    if (model) for (const account of Object.keys(model.csAccounts)) this.runtime.tellIfActive(sessionAddress(d.app, account, d.identity), { type });
    else for (const s of this.store.activeSessionsOf(d.app, d.identity)) this.runtime.tell(sessionAddress(d.app, s.csAccount, d.identity), { type });
  }

  private takeToken(d: ConnData): boolean {
    const now = this.clock.now();
    d.tokens = Math.min(d.burst, d.tokens + ((now - d.refilledAt) / 1000) * d.rate);
    d.refilledAt = now;
    if (d.tokens < 1) return false;
    d.tokens -= 1;
    return true;
  }

  private message(ws: WebSocket<ConnData>, raw: ArrayBuffer, isBinary: boolean): void {
    const d = ws.getUserData();
    if (d.refused || d.closing) return;
    d.enc = isBinary ? Encoding.Msgpack : Encoding.Json;
    if (!this.takeToken(d)) {
      this.sendError(ws, undefined, ErrorCode.RateLimited, 'too many frames; slow down');
      if (d.tokens < -d.burst) this.closeAfterReplies(ws, CloseCode.RateLimited, 'rate limited');
      d.tokens -= 1;
      return;
    }
    if (raw.byteLength > MAX_FRAME_BYTES) {
      this.invalid(ws, undefined, ErrorCode.BodyTooLong, `frame exceeds ${MAX_FRAME_BYTES} bytes`);
      return;
    }
    let res: ReturnType<typeof validateFrame>;
    try {
      const decoded = decodeRaw(new Uint8Array(raw), isBinary);
      if (decoded === undefined) {
        this.invalid(ws, undefined, ErrorCode.ParseFailure, 'frame is not valid JSON or msgpack');
        return;
      }
      res = validateFrame(d.role, decoded, raw.byteLength);
    } catch {
      // Hostile shapes (say, an object whose toString is not a function) can make a check throw: still just invalid.
      this.invalid(ws, undefined, ErrorCode.BadParameter, 'frame could not be validated');
      return;
    }
    if (!res.ok) {
      this.invalid(ws, res.ref, res.code, res.info);
      return;
    }
    if (this.draining) {
      this.sendError(ws, res.frame.ref, ErrorCode.Internal, 'server shutting down; reconnect and retry');
      return;
    }
    try {
      this.dispatch(ws, d, res.frame);
    } catch (err) {
      this.log.error({ err, conn: d.id }, 'frame dispatch failed');
      this.sendError(ws, res.frame.ref, ErrorCode.Internal, 'internal error, retry');
    }
  }

  private invalid(ws: WebSocket<ConnData>, ref: Ref | undefined, code: number, info: string): void {
    const d = ws.getUserData();
    this.sendError(ws, ref, code, info);
    if (++d.invalid >= this.limits.invalidBeforeClose) this.closeAfterReplies(ws, CloseCode.ProtocolViolation, 'too many invalid frames');
  }

  /**
   * Closes a socket that broke a limit, but only after the replies to the frames it had sent before are sent: an
   * acknowledged message stays acknowledged to its sender. It takes no more frames meanwhile.
   */
  private closeAfterReplies(ws: WebSocket<ConnData>, code: number, reason: string): void {
    const d = ws.getUserData();
    if (d.closing) return;
    d.closing = { code, reason };
    this.closeIfDone(ws);
    if (!this.conns.has(d.id)) return;
    setTimeout(() => {
      if (this.conns.get(d.id) === ws) ws.end(code, reason);
    }, this.limits.closeGraceMs).unref();
  }

  private sendError(ws: WebSocket<ConnData>, ref: Ref | undefined, code: number, info: string): void {
    this.sendNow(ws, { type: 'error', ...(ref !== undefined ? { ref } : {}), data: { ref, code, info } });
  }

  private sendNow(ws: WebSocket<ConnData>, frame: ServerFrame): void {
    ws.send(encodeFrame(frame, ws.getUserData().enc), ws.getUserData().enc === Encoding.Msgpack);
  }


  /** Hands a frame's request to an actor; its reply (`reply`) is then owed to the socket. */
  private tell(ws: WebSocket<ConnData>, ref: Ref | undefined, to: string, msg: unknown): void {
    if (!this.runtime.tell(to, msg)) {
      this.sendError(ws, ref, ErrorCode.Internal, 'server busy, retry');
      return;
    }
    ws.getUserData().awaiting++;
    if (this.interest && !this.runtime.isLocal(to)) this.passedOn(ws.getUserData()).add({ ref, conv: to });
  }

  /** The requests another node answers; answered here instead if that node is lost first (`answerTakenOver`). */
  private passedOn(d: ConnData): PassedOnRequests<Ref | undefined> {
    return (d.elsewhere ??= new PassedOnRequests());
  }

  /**
   * A conversation taken over by another node (its `history.hint`) after its node was lost: the socket's requests
   * passed on to it and not answered may have been lost with that node, so they are answered "retry" (sent again as
   * they were, they are not taken twice: same `random`).
   */
  private answerTakenOver(id: number, hint: { sessionId?: string; account?: string; group?: string }): void {
    const d = this.conns.get(id)?.getUserData();
    if (!d?.elsewhere?.size) return;
    let conv: string | undefined;
    if (d.role === Role.Agent) conv = hint.sessionId === undefined ? undefined : this.store.lookupSession(hint.sessionId)?.conv;
    else {
      const model = this.apps.get(d.app);
      const found = model && this.userConversation(d, model, { to: hint.account, group: hint.group });
      conv = found?.ok ? found.conv : undefined;
    }
    for (const p of d.elsewhere.takenOver(hint.sessionId, conv)) {
      if (d.awaiting > 0) d.awaiting--;
      this.answer({ conn: id, ref: p.ref }, TAKEN_OVER);
    }
  }

  private replyTo(d: ConnData, ref: Ref | undefined, as: string): ReplyTo {
    return this.runtime.replyAddress(d.id, ref, as);
  }

  private dispatch(ws: WebSocket<ConnData>, d: ConnData, f: ClientFrame): void {
    const model = this.apps.get(d.app)!;
    switch (f.type) {
      case 'ping':
        this.sendNow(ws, { type: 'pong', ref: f.ref, data: { time: this.clock.now() } });
        return;
      case 'history.sync':
        this.history(ws, d, f.ref, f.data);
        return;
      case 'message.send':
        if (d.role === Role.User) {
          const s = f.data as UserSend;
          const target = this.userConversation(d, model, s);
          if (!target.ok) { this.sendError(ws, f.ref, target.code, target.info); return; }
          this.tell(ws, f.ref, target.conv, {
            type: 'userSend', random: s.random, body: s.body, cloudCustomData: s.cloudCustomData, ...(s.group !== undefined ? { from: d.identity } : {}),
            conn: d.id, replyTo: this.replyTo(d, f.ref, 'message.ack'),
          });
        } else {
          const s = f.data as AgentSend;
          this.tellSession(ws, d, f.ref, s.sessionId, { type: 'agentSend', memberId: d.identity, sessionId: s.sessionId, random: s.random, body: s.body, cloudCustomData: s.cloudCustomData, conn: d.id, replyTo: this.replyTo(d, f.ref, 'message.ack') });
        }
        return;
      case 'agent.status':
        this.tell(ws, f.ref, agentAddress(d.app, d.identity), { type: 'setStatus', status: f.data.status, reason: f.data.reason, replyTo: this.replyTo(d, f.ref, 'agent.status') });
        return;
      default: {
        const action = f.type === 'typing' ? 'typing' : f.type.slice('session.'.length);
        const t = f.data as TransferRequest;
        this.tellSession(ws, d, f.ref, f.data.sessionId, {
          type: 'agentAction', action, memberId: d.identity, sessionId: f.data.sessionId, groupId: t.groupId, targetMemberId: t.memberId,
          replyTo: this.replyTo(d, f.ref, f.type === 'typing' ? 'ok' : `${f.type}.ok`),
        });
      }
    }
  }

  /** Hands a request to the conversation of a session: found here, or (in a cluster) on the node that holds it. */
  private tellSession(ws: WebSocket<ConnData>, d: ConnData, ref: Ref | undefined, sessionId: string, msg: Record<string, unknown> & { replyTo: ReplyTo }): void {
    const idx = this.store.lookupSession(sessionId);
    if (idx && idx.app === d.app) this.tell(ws, ref, idx.conv, msg);
    else if (!idx && this.runtime.tellBySession(sessionId, d.app, msg)) {
      d.awaiting++;
      this.passedOn(d).add({ ref, sessionId });
    }
    else this.sendError(ws, ref, ErrorCode.SessionNotFound, defaultInfo[ErrorCode.SessionNotFound]);
  }

  /** The conversation a user writes to or reads: one with an account, or a group chat the user is a member of. */
  private userConversation(d: ConnData, model: AppModel, q: { to?: string; group?: string }): { ok: true; conv: string; account: string; group?: string } | { ok: false; code: number; info: string } {
    if (q.group !== undefined) {
      const entry = this.store.chatGroup(d.app, q.group);
      if (!entry) return { ok: false, code: ErrorCode.ChatGroupNotFound, info: defaultInfo[ErrorCode.ChatGroupNotFound] };
      if (!entry.group.members.includes(d.identity)) return { ok: false, code: ErrorCode.NotGroupMember, info: defaultInfo[ErrorCode.NotGroupMember] };
      return { ok: true, conv: sessionAddress(d.app, entry.csAccount, groupConvUser(entry.group)), account: entry.csAccount, group: q.group };
    }
    if (q.to === undefined || !accountOf(model, q.to)) return { ok: false, code: ErrorCode.BadParameter, info: `'${q.to ?? ''}' is not a customer-service account of this app` };
    return { ok: true, conv: sessionAddress(d.app, q.to, d.identity), account: q.to };
  }

  /** A user reads a session of their own conversation, or of a group chat they are a member of (that group, not an earlier one of the same id). */
  private userMayRead(d: ConnData, userId: string): boolean {
    if (userId === d.identity) return true;
    const g = chatGroupOf(userId);
    const entry = g && this.store.chatGroup(d.app, g.id);
    return !!entry && entry.group.generation === g.generation && entry.group.members.includes(d.identity);
  }

  /** Missed messages, in order. Users read their conversations; members read sessions of accounts their groups serve. */
  private history(ws: WebSocket<ConnData>, d: ConnData, ref: Ref | undefined, q: HistorySync): void {
    const here = q.sessionId === undefined ? undefined : this.store.lookupSession(q.sessionId);
    if (q.sessionId !== undefined && !here && this.interest) {
      // In a cluster the session may be held by another node: its entry is asked of that node first.
      this.runtime.lookupSession(q.sessionId).then((idx) => {
        if (this.conns.get(d.id) === ws) this.historyOf(ws, d, ref, q, idx);
      }, () => {
        if (this.conns.get(d.id) === ws) this.sendError(ws, ref, ErrorCode.Internal, 'session unreachable, retry');
      });
      return;
    }
    this.historyOf(ws, d, ref, q, here);
  }

  /** `history` once the session named (if any) is found: `idx`. */
  private historyOf(ws: WebSocket<ConnData>, d: ConnData, ref: Ref | undefined, q: HistorySync, idx: SessionIndex | undefined, checked = false): void {
    const model = this.apps.get(d.app)!;
    const limit = Math.min(q.limit ?? this.limits.historyPage, this.limits.historyPage);
    let conv: string;
    let account: string;
    let group: string | undefined;
    if (q.sessionId) {
      const allowed = checked || (idx && idx.app === d.app && (d.role === Role.User ? this.userMayRead(d, idx.userId) : this.mayRead(d.identity, idx.conv, idx.csAccount, model)));
      if (!idx || !allowed) { this.sendError(ws, ref, ErrorCode.SessionNotFound, defaultInfo[ErrorCode.SessionNotFound]); return; }
      if (allowed === ASK_OWNER) {
        // Whether the member serves the session now is known where it is held.
        this.runtime.read(idx.conv, SESSION_STATE_READER, { conv: idx.conv }).then((r) => {
          if (this.conns.get(d.id) !== ws) return;
          if (!r.ok) { this.sendError(ws, ref, r.code ?? ErrorCode.Internal, r.info ?? 'history unavailable, retry'); return; }
          if (serves(r.data as SessionStateView, d.identity, memberOf(model, d.identity)?.groupIds ?? [])) this.historyOf(ws, d, ref, q, idx, true);
          else this.sendError(ws, ref, ErrorCode.SessionNotFound, defaultInfo[ErrorCode.SessionNotFound]);
        }).catch((err: unknown) => this.log.error({ err, conn: d.id }, 'a session held by another node could not be checked'));
        return;
      }
      conv = idx.conv;
      account = idx.csAccount;
      group = chatGroupOf(idx.userId)?.id;
    } else if (d.role === Role.User && (q.to !== undefined || q.group !== undefined)) {
      const target = this.userConversation(d, model, q);
      if (!target.ok) { this.sendError(ws, ref, target.code, target.info); return; }
      ({ conv, account, group } = target);
    } else {
      this.sendError(ws, ref, ErrorCode.BadParameter, d.role === Role.User ? "history.sync needs 'to' (a customer-service account), 'group' or 'sessionId'" : "history.sync needs 'sessionId'");
      return;
    }
    const send = (page: HistoryPage): void => {
      const messages = page.messages.map((m) => messageFrame(m, account, d.role === Role.User, group).data);
      this.sendNow(ws, { type: 'history', ref, data: { sessionId: q.sessionId, account, ...(group !== undefined ? { group } : {}), messages, more: page.more } });
    };
    const query = { conv, sessionId: q.sessionId, afterSeq: q.afterSeq, limit };
    if (this.runtime.isLocal(conv)) {
      send(this.store.historyPage(query));
      return;
    }
    // The conversation's messages are where it lives: read on its node.
    void this.runtime.read(conv, HISTORY_READER, query).then((r) => {
      if (this.conns.get(d.id) !== ws) return;
      // The page came from another node: its shape is checked before it is framed.
      const page = r.data as HistoryPage | undefined;
      if (r.ok && page && Array.isArray(page.messages) && typeof page.more === 'boolean') send(page);
      else this.sendError(ws, ref, r.ok ? ErrorCode.Internal : r.code ?? ErrorCode.Internal, r.ok ? 'history unavailable, retry' : r.info ?? 'history unavailable, retry');
    }).catch((err: unknown) => this.log.error({ err, conn: d.id }, 'history from another node could not be sent'));
  }

  /**
   * A member reads a session's history when a group of theirs serves its account, or when the member or a group of
   * theirs serves the session now (a transfer or a forward may bring it from another group): for a session held by
   * another node, that node is asked (`ASK_OWNER`).
   */
  private mayRead(memberId: string, conv: string, csAccount: string, model: AppModel): boolean | typeof ASK_OWNER {
    const groups = memberOf(model, memberId)?.groupIds ?? [];
    if (groups.includes(accountOf(model, csAccount)?.agentGroupId ?? -1)) return true;
    if (!this.runtime.isLocal(conv)) return ASK_OWNER;
    return serves(this.runtime.peek<SessionState>(conv).cur, memberId, groups);
  }

  // Outlet: effects released by the runtime after commit.

  beginBatch(): void {
    this.batching++;
  }

  endBatch(): void {
    if (--this.batching > 0) return;
    this.lastPushed = this.lastJson = this.lastPack = undefined;
    for (const id of this.corked) {
      const ws = this.conns.get(id);
      if (!ws) continue;
      const d = ws.getUserData();
      const binary = d.enc === Encoding.Msgpack;
      const frames = d.out;
      ws.cork(() => {
        for (const f of frames) ws.send(f, binary);
      });
      frames.length = 0;
      if (ws.getBufferedAmount() > this.limits.maxBackpressure) ws.end(CloseCode.SlowConsumer, 'slow consumer');
      else this.closeIfDone(ws);
    }
    this.corked.length = 0;
  }

  /** A closing socket closes once nothing is owed to it any more. */
  private closeIfDone(ws: WebSocket<ConnData>): void {
    const d = ws.getUserData();
    if (d.closing && d.awaiting <= 0) ws.end(d.closing.code, d.closing.reason);
  }

  /** Sends a frame to one socket at the end of the batch; `pushed`: it is the last pushed frame (its encodings are kept). */
  private enqueueSend(id: number, frame: ServerFrame, pushed: boolean): void {
    const ws = this.conns.get(id);
    if (!ws) return;
    const d = ws.getUserData();
    const enc = d.enc;
    const data = !pushed ? encodeFrame(frame, enc)
      : enc === Encoding.Msgpack ? (this.lastPack ??= encodeFrame(frame, enc)) : (this.lastJson ??= encodeFrame(frame, enc));
    if (this.batching > 0) {
      if (d.out.length === 0) this.corked.push(id);
      d.out.push(data);
    } else {
      ws.send(data, enc === Encoding.Msgpack);
      this.closeIfDone(ws);
    }
  }

  push(to: Recipient, frame: ServerFrame, exceptConn?: number): void {
    const set = this.byRecipient.get(recipientKey(to.role, to.app, to.id));
    if (!set) return;
    if (this.lastPushed !== frame) {
      this.lastPushed = frame;
      this.lastJson = this.lastPack = undefined;
    }
    for (const id of set) if (id !== exceptConn) this.enqueueSend(id, frame, true);
    if (frame.type === 'history.hint') for (const id of set) this.answerTakenOver(id, frame.data as { sessionId?: string; account?: string; group?: string });
  }

  reply(replyTo: { conn: number; ref?: Ref; as?: string }, result: Reply): void {
    const d = this.conns.get(replyTo.conn)?.getUserData();
    // A late answer to a request already answered "retry" (its conversation taken over) is sent, and counted once.
    if (d && d.elsewhere?.answered(replyTo.ref) !== false && d.awaiting > 0) d.awaiting--;
    this.answer(replyTo, result);
  }

  private answer(replyTo: { conn: number; ref?: Ref; as?: string }, result: Reply): void {
    const frame: ServerFrame = result.ok
      ? { type: replyTo.as ?? 'ok', ...(replyTo.ref !== undefined ? { ref: replyTo.ref } : {}), data: result.data ?? {} }
      : { type: 'error', ...(replyTo.ref !== undefined ? { ref: replyTo.ref } : {}), data: { ref: replyTo.ref, code: result.code ?? ErrorCode.Internal, info: result.info ?? defaultInfo[result.code ?? ErrorCode.Internal] ?? 'error' } };
    this.enqueueSend(replyTo.conn, frame, false);
  }
}
