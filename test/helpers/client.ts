/** A WebSocket client for tests: sends frames, awaits replies by `ref`, and waits for pushed frames. */
import WebSocket from 'ws';
import { decodeServerFrame, encodeClientFrame, Encoding, type ServerFrame } from '../../protocol/frames';
import { genUserSig } from '../../protocol/usersig';

export interface ClientOptions {
  port: number;
  sdkAppId: number;
  key: string;
  identity: string;
  role: 'user' | 'agent';
  encoding?: Encoding;
  usersig?: string;
}

type Waiter = { pred: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class TestClient {
  readonly frames: ServerFrame[] = [];
  private readonly waiters: Waiter[] = [];
  private refSeq = 0;
  private cursor = 0;
  closeCode?: number;
  closeReason?: string;
  private closedResolve!: () => void;
  readonly closed = new Promise<void>((r) => (this.closedResolve = r));

  private constructor(readonly ws: WebSocket, readonly enc: Encoding) {
    ws.on('message', (data, isBinary) => {
      const f = decodeServerFrame(data as Buffer, isBinary);
      this.frames.push(f);
      for (const w of [...this.waiters]) {
        if (w.pred(f)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          clearTimeout(w.timer);
          w.resolve(f);
        }
      }
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new Error(`socket closed (${code} ${reason}) while waiting`));
      }
      this.closedResolve();
    });
  }

  static url(o: ClientOptions): string {
    const sig = o.usersig ?? genUserSig(o.sdkAppId, o.key, o.identity, 86400);
    const q = new URLSearchParams({ sdkappid: String(o.sdkAppId), identifier: o.identity, usersig: sig, role: o.role });
    return `ws://127.0.0.1:${o.port}/v4/ws?${q}`;
  }

  static connect(o: ClientOptions): Promise<TestClient> {
    const ws = new WebSocket(TestClient.url(o));
    const c = new TestClient(ws, o.encoding ?? Encoding.Json);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }

  /** Sends a frame; returns its ref. */
  send(type: string, data: unknown, ref: string | number = `r${++this.refSeq}`): string | number {
    this.ws.send(encodeClientFrame({ type, ref, data }, this.enc));
    return ref;
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** Sends a frame and resolves with the reply carrying its ref (an `error` frame too). */
  request(type: string, data: unknown, timeoutMs = 5000): Promise<ServerFrame> {
    const ref = this.send(type, data);
    return this.waitFor((f) => f.ref === ref, timeoutMs, `reply to ${type}`);
  }

  /** The next frame (after those already consumed by `next`) matching `pred`. */
  next(pred: (f: ServerFrame) => boolean, timeoutMs = 5000, what = 'frame'): Promise<ServerFrame> {
    for (let i = this.cursor; i < this.frames.length; i++) {
      if (pred(this.frames[i])) {
        this.cursor = i + 1;
        return Promise.resolve(this.frames[i]);
      }
    }
    return this.waitFor(pred, timeoutMs, what).then((f) => {
      this.cursor = this.frames.length;
      return f;
    });
  }

  /** Resolves with the first frame from now on matching `pred`. */
  waitFor(pred: (f: ServerFrame) => boolean, timeoutMs = 5000, what = 'frame'): Promise<ServerFrame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.findIndex((w) => w.timer === timer), 1);
        reject(new Error(`timed out waiting for ${what}; last frames: ${JSON.stringify(this.frames.slice(-5))}`));
      }, timeoutMs);
      this.waiters.push({ pred, resolve, reject, timer });
    });
  }

  /** Texts of the stored text messages received so far. */
  texts(): string[] {
    const out: string[] = [];
    for (const f of this.frames) {
      if (f.type !== 'message') continue;
      for (const e of (f.data as { body: { MsgType: string; MsgContent: { Text?: string } }[] }).body) if (e.MsgType === 'TIMTextElem') out.push(e.MsgContent.Text!);
    }
    return out;
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }
}

/** Body helpers. */
export const textBody = (t: string) => [{ MsgType: 'TIMTextElem', MsgContent: { Text: t } }];
export const srcBody = (src: string, extra: Record<string, unknown> = {}) => [
  { MsgType: 'TIMCustomElem', MsgContent: { Data: JSON.stringify({ customerServicePlugin: 0, src, ...extra }) } },
];

/** The Desk custom payload of a message frame, if any. */
export function srcOf(f: ServerFrame): string | undefined {
  if (f.type !== 'message') return undefined;
  const e = (f.data as { body: { MsgType: string; MsgContent: { Data?: string } }[] }).body[0];
  if (e?.MsgType !== 'TIMCustomElem') return undefined;
  try {
    return (JSON.parse(e.MsgContent.Data!) as { src?: string }).src;
  } catch {
    return undefined;
  }
}

export function textOf(f: ServerFrame): string | undefined {
  if (f.type !== 'message') return undefined;
  const e = (f.data as { body: { MsgType: string; MsgContent: { Text?: string } }[] }).body[0];
  return e?.MsgType === 'TIMTextElem' ? e.MsgContent.Text : undefined;
}
