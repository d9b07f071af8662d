/**
 * Delivers the durable outbox to the apps' backends: in order per key (a session), one at a time, retried with
 * exponential backoff, removed once accepted (any 2xx), and kept apart (and counted) when it keeps failing.
 *
 * Each POST carries `SdkAppid`, `CallbackCommand`, `contenttype`, `ClientIP` and `OptPlatform` in the query, and
 * three headers a receiver can check: `X-Desk-Idempotency-Key` (stable across retries), `X-Desk-Timestamp` (ms)
 * and `X-Desk-Signature` = hex HMAC-SHA256(callback token, `<timestamp>.<body>`), so replays and forgeries can be
 * refused.
 */
import Validator from 'fastest-validator';
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { Effect } from '../../actors/types';
import { replySchemas } from '../../protocol/rest/callbacks';
import type { AppRegistry } from '../config/apps';
import type { Clock } from '../runtime/clock';
import type { MailId, OutboxEntry } from '../store/store';

export interface DeliveryOptions {
  /** Wait for a reply before counting the attempt as failed. */
  timeoutMs: number;
  /** Attempts before a callback is set aside as failed. */
  maxAttempts: number;
  /** First retry delay; doubled each attempt up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultDelivery: DeliveryOptions = { timeoutMs: 5000, maxAttempts: 12, baseDelayMs: 1000, maxDelayMs: 300_000 };

export interface DeliveryMetrics { callbackDelivered(): void; callbackFailed(): void; callbackRetried(): void }

const validator = new Validator();
const replyChecks = new Map(Object.entries(replySchemas).map(([command, schema]) => [command, validator.compile(schema)]));

export function sign(token: string, timestamp: number, body: string): string {
  return createHmac('sha256', token).update(`${timestamp}.${body}`).digest('hex');
}

interface Pending { id: MailId; entry: OutboxEntry; attempts: number }

/** Where callbacks wait: what the outbox holds, and what to do with one done with (delivered, or `failure`). */
export interface Outbox {
  pendingCallbacks(): { id: MailId; entry: OutboxEntry }[];
  settled(id: MailId, entry: OutboxEntry, failure?: string): Promise<unknown>;
}

/** An `ask` effect as the delivery takes it. */
export type AskRequest = Omit<Extract<Effect, { t: 'ask' }>, 't'>;

export class CallbackDelivery {
  /** Waiting callbacks per key, head first; a key with an entry here is being worked on. */
  private readonly queues = new Map<string, Pending[]>();
  /** The ids in `queues`: one handed over again (a partition taken over again) is queued once. */
  private readonly queued = new Set<MailId>();
  private stopped = false;
  private readonly o: DeliveryOptions;

  constructor(
    private readonly outbox: Outbox,
    private readonly apps: AppRegistry,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics?: DeliveryMetrics,
    options: Partial<DeliveryOptions> = {},
  ) {
    this.o = { ...defaultDelivery, ...options };
  }

  /**
   * Picks up what the outbox held at start (committed before a crash, not yet accepted). On a cluster node
   * (`clustered`), a callback is passed on by the node that takes its sender's partition over, from the partition's
   * log; only those stored before the node ran in a cluster (no sender, in no log) are picked up here.
   */
  start(clustered = false): void {
    for (const { id, entry } of this.outbox.pendingCallbacks()) if (!clustered || entry.from === undefined) this.add(id, entry);
  }

  stop(): void {
    this.stopped = true;
  }

  /** A callback just committed to the outbox. */
  add(id: MailId, entry: OutboxEntry): void {
    if (this.queued.has(id)) return;
    this.queued.add(id);
    const queueKey = `${entry.app}|${entry.key}`;
    let q = this.queues.get(queueKey);
    const idle = !q;
    if (!q) this.queues.set(queueKey, (q = []));
    q.push({ id, entry, attempts: 0 });
    if (idle) void this.attempt(queueKey);
  }

  pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  private async attempt(queueKey: string): Promise<void> {
    if (this.stopped) return;
    const q = this.queues.get(queueKey);
    const head = q?.[0];
    if (!q || !head) return;
    const app = this.apps.get(head.entry.app);
    const cb = app?.callbacks;
    if (!app || !cb?.url) {
      this.settle(queueKey, head, 'no callback URL configured');
      return;
    }
    head.attempts++;
    let failure: string | undefined;
    try {
      failure = await this.post(cb.url, cb.token, head);
    } catch (err) {
      failure = (err as Error).message;
    }
    if (this.stopped) return;
    if (failure === undefined) {
      this.settle(queueKey, head);
      return;
    }
    if (head.attempts >= this.o.maxAttempts) {
      this.log.warn({ callback: head.id, command: head.entry.command, failure }, 'callback failed for good; kept in failed-callbacks');
      this.settle(queueKey, head, failure);
      return;
    }
    this.metrics?.callbackRetried();
    const delay = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (head.attempts - 1));
    this.log.info({ callback: head.id, command: head.entry.command, failure, retryInMs: delay }, 'callback not accepted; will retry');
    this.clock.schedule(this.clock.now() + delay, () => void this.attempt(queueKey));
  }

  /** One POST of an outbox entry; undefined when accepted, else why not. */
  private async post(url: string, token: string, p: Pending): Promise<string | undefined> {
    const res = await this.request(url, token, p.entry.app, p.entry.command, p.entry.body, `${p.entry.app}-${p.entry.uid ?? p.id}`);
    await res.arrayBuffer();
    return res.ok ? undefined : `HTTP ${res.status}`;
  }

  private request(url: string, token: string, app: number, command: string, payload: Record<string, unknown>, key: string, timeoutMs = this.o.timeoutMs): Promise<Response> {
    const body = JSON.stringify(payload);
    const timestamp = this.clock.now();
    const target = new URL(url);
    target.searchParams.set('SdkAppid', String(app));
    target.searchParams.set('CallbackCommand', command);
    target.searchParams.set('contenttype', 'json');
    target.searchParams.set('ClientIP', '127.0.0.1');
    target.searchParams.set('OptPlatform', 'RESTAPI');
    target.searchParams.set('RequestID', key);
    return fetch(target, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-desk-idempotency-key': key,
        'x-desk-timestamp': String(timestamp),
        'x-desk-signature': sign(token, timestamp, body),
      },
      signal: AbortSignal.timeout(timeoutMs),
    });
  }

  /**
   * A question whose answer decides (ChatBot.OnAssignHuman, Desk.CallbackBeforeIMContactUser, a task flow's
   * Chatbot.InterfaceInvocation): one attempt within `timeoutMs` (default: the callbacks'), the reply checked against
   * the command's reply schema; anything else — an error, a timeout, a reply cut off or malformed — is answered as
   * `ok: false` and logged, and the asking actor applies its fallback. `tag` comes back with the answer and makes the
   * request's idempotency key its own.
   */
  ask(from: string, a: AskRequest, tell: (to: string, msg: unknown) => void): void {
    const token = this.apps.get(a.app)?.callbacks?.token ?? '';
    const answer = (ok: boolean, result?: unknown): void => tell(from, { type: a.reply, sessionId: a.sessionId, ok, answer: result, ...(a.tag !== undefined ? { tag: a.tag } : {}) });
    const check = replyChecks.get(a.command);
    const key = `${a.app}-${a.command}-${a.sessionId}-${String(a.body.EventTime)}${a.tag !== undefined ? `-${a.tag}` : ''}`;
    void (async () => {
      let res: Response;
      let text: string;
      try {
        res = await this.request(a.url, token, a.app, a.command, a.body, key, a.timeoutMs);
        text = await res.text();
      } catch (err) {
        this.log.warn({ command: a.command, err: (err as Error).message }, 'no answer from the app backend; the fallback decides');
        answer(false);
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (!res.ok || !check || check(parsed) !== true) {
        this.log.warn({ command: a.command, status: res.status, reply: text.slice(0, 200) }, 'unusable answer from the app backend; the fallback decides');
        answer(false);
        return;
      }
      answer(true, parsed);
    })();
  }

  /** Done with the head: removed (accepted) or set aside (failed); then the next of the same key. */
  private settle(queueKey: string, head: Pending, failure?: string): void {
    if (failure === undefined) this.metrics?.callbackDelivered();
    else this.metrics?.callbackFailed();
    this.queued.delete(head.id);
    this.outbox.settled(head.id, head.entry, failure).catch((err: unknown) => this.log.error({ err }, 'outbox commit failed'));
    const q = this.queues.get(queueKey)!;
    q.shift();
    if (q.length === 0) this.queues.delete(queueKey);
    else void this.attempt(queueKey);
  }
}
