/** Load-generator sockets: the same client code drives Desk and the baseline relay. Uses protocol/ only. */
import WebSocket from 'ws';
import { decodeServerFrame, encodeClientFrame, Encoding, type ServerFrame } from '../protocol/frames';
import { genUserSig } from '../protocol/usersig';
import { fnv1a } from '../src/cluster/partitions';

/** `ports`: the nodes of a cluster; each identity connects to one of them, picked by its name. */
export interface Target { kind: 'desk' | 'baseline'; port: number; ports?: number[]; sdkAppId: number; key: string; encoding: Encoding }

export class LoadSocket {
  onFrame: (f: ServerFrame) => void = () => undefined;
  onClose: (code: number) => void = () => undefined;
  private constructor(readonly ws: WebSocket, readonly enc: Encoding) {
    ws.on('message', (data, isBinary) => this.onFrame(decodeServerFrame(data as Buffer, isBinary)));
    ws.on('close', (code) => this.onClose(code));
    ws.on('error', () => undefined);
  }

  static open(url: string, enc: Encoding, localAddress?: string): Promise<LoadSocket> {
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress });
    const s = new LoadSocket(ws, enc);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(s));
      ws.once('error', reject);
    });
  }

  static desk(t: Target, identity: string, role: 'user' | 'agent', localAddress?: string): Promise<LoadSocket> {
    return LoadSocket.open(LoadSocket.url(t, identity, role), t.encoding, localAddress);
  }

  /** Where `identity` connects: with several nodes, the one its name picks. */
  static url(t: Target, identity: string, role: 'user' | 'agent'): string {
    const q = new URLSearchParams({ sdkappid: String(t.sdkAppId), identifier: identity, usersig: genUserSig(t.sdkAppId, t.key, identity, 86400), role });
    const port = t.ports && t.ports.length > 1 ? t.ports[fnv1a(identity) % t.ports.length] : (t.ports?.[0] ?? t.port);
    return `ws://127.0.0.1:${port}/v4/ws?${q}`;
  }

  static baseline(t: Target, pair: number): Promise<LoadSocket> {
    return LoadSocket.open(`ws://127.0.0.1:${t.port}/relay?pair=${pair}`, t.encoding);
  }

  send(type: string, data: unknown, ref?: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(encodeClientFrame({ type, ref, data }, this.enc));
  }

  /** Resolves with the first frame matching `pred` (frames before it still reach onFrame's other handlers). */
  waitFor(pred: (f: ServerFrame) => boolean, timeoutMs = 30_000): Promise<ServerFrame> {
    const prev = this.onFrame;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.onFrame = prev; reject(new Error('timed out waiting for a frame')); }, timeoutMs);
      this.onFrame = (f) => {
        prev(f);
        if (pred(f)) {
          clearTimeout(timer);
          this.onFrame = prev;
          resolve(f);
        }
      };
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

export const text = (t: string) => [{ MsgType: 'TIMTextElem', MsgContent: { Text: t } }];
export const src = (code: string, extra: Record<string, unknown> = {}) => [
  { MsgType: 'TIMCustomElem', MsgContent: { Data: JSON.stringify({ customerServicePlugin: 0, src: code, ...extra }) } },
];

/** First text element of a message-like frame (Desk `message` or a relayed `message.send`). */
export function frameText(f: ServerFrame): string | undefined {
  if (f.type !== 'message' && f.type !== 'message.send') return undefined;
  const body = (f.data as { body?: { MsgType: string; MsgContent: { Text?: string } }[] }).body;
  const e = body?.[0];
  return e && e.MsgType === 'TIMTextElem' ? e.MsgContent.Text : undefined;
}

export function srcOf(f: ServerFrame): string | undefined {
  if (f.type !== 'message') return undefined;
  const e = (f.data as { body: { MsgType: string; MsgContent: { Data?: string } }[] }).body[0];
  if (e?.MsgType !== 'TIMCustomElem') return undefined;
  try { return (JSON.parse(e.MsgContent.Data!) as { src?: string }).src; } catch { return undefined; }
}
