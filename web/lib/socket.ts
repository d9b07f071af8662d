/**
 * The pages' WebSocket client (docs/protocol.md): JSON frames, one reply per request matched by `ref`, pushes by
 * type, and reconnection with backoff while the close code says "reconnect" (below 4500).
 */

export interface Frame { type: string; ref?: number | string; data: Record<string, any> }
export interface Credentials { sdkAppId: number; identifier: string; userSig: string; role: 'user' | 'agent' }
export type ConnectionState = 'connecting' | 'open' | 'closed';

/** A refused request: the server's `error` frame. */
export class FrameError extends Error {
  constructor(readonly code: number, info: string) {
    super(info);
  }
}

const REQUEST_TIMEOUT_MS = 15_000;
const MAX_BACKOFF_MS = 15_000;

type Handler = (data: Record<string, any>) => void;

export class DeskSocket {
  private ws?: WebSocket;
  private nextRef = 1;
  private readonly waiting = new Map<number, { resolve: (d: Record<string, any>) => void; reject: (e: Error) => void; timer: number }>();
  private readonly handlers = new Map<string, Set<Handler>>();
  private stopped = false;
  private attempts = 0;
  state: ConnectionState = 'closed';

  constructor(private readonly creds: Credentials) {}

  /** Opens the socket; it reopens by itself until `close` or a close code that forbids it. */
  connect(): void {
    this.stopped = false;
    const { sdkAppId, identifier, userSig, role } = this.creds;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const q = new URLSearchParams({ sdkappid: String(sdkAppId), identifier, usersig: userSig, role });
    const ws = new WebSocket(`${scheme}://${location.host}/v4/ws?${q}`);
    this.ws = ws;
    this.setState('connecting');
    ws.onopen = () => {
      this.attempts = 0;
      this.setState('open');
      this.emit('open', {});
    };
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      for (const [, w] of this.waiting) {
        clearTimeout(w.timer);
        w.reject(new FrameError(141002, 'connection lost'));
      }
      this.waiting.clear();
      this.setState('closed');
      if (this.stopped) return;
      if (e.code >= 4500 && e.code < 5000) {
        this.emit('fatal', { code: e.code, reason: e.reason });
        return;
      }
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempts++) * (0.5 + Math.random() / 2);
      setTimeout(() => { if (!this.stopped) this.connect(); }, delay);
    };
  }

  close(): void {
    this.stopped = true;
    this.ws?.close(1000);
  }

  /** Sends a frame and resolves with its reply's data (rejects with the `error` frame's code and info). */
  request(type: string, data: Record<string, unknown>): Promise<Record<string, any>> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new FrameError(141002, 'not connected'));
    const ref = this.nextRef++;
    return new Promise((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.waiting.delete(ref);
        reject(new FrameError(141002, 'no reply'));
      }, REQUEST_TIMEOUT_MS);
      this.waiting.set(ref, { resolve, reject, timer });
      ws.send(JSON.stringify({ type, ref, data }));
    });
  }

  /** Calls `fn` for every push of `type` ('open', 'state' and 'fatal' are the client's own); returns the undo. */
  on(type: string, fn: Handler): () => void {
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    set.add(fn);
    return () => set!.delete(fn);
  }

  private receive(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let frame: Frame;
    try {
      frame = JSON.parse(raw) as Frame;
    } catch {
      return;
    }
    const w = typeof frame.ref === 'number' ? this.waiting.get(frame.ref) : undefined;
    if (w) {
      this.waiting.delete(frame.ref as number);
      clearTimeout(w.timer);
      if (frame.type === 'error') w.reject(new FrameError(frame.data?.code ?? 0, frame.data?.info ?? 'refused'));
      else w.resolve(frame.data ?? {});
      return;
    }
    this.emit(frame.type, frame.data ?? {});
  }

  private setState(s: ConnectionState): void {
    this.state = s;
    this.emit('state', { state: s });
  }

  private emit(type: string, data: Record<string, any>): void {
    for (const fn of this.handlers.get(type) ?? []) fn(data);
  }
}

/** A fresh `random` for `message.send` (the server de-duplicates retries by it). */
export function newRandom(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] || 1;
}
