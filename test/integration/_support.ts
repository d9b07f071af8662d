/**
 * Shared helpers for the integration tests in this folder (not a test file: tap runs only *.test.js).
 * - seeded PRNG, small waits, "let the server settle" for in-process servers;
 * - the usual robot → human walk of a user;
 * - a child-process server (dist/src/main.js or _server-main.js) whose port is read from its log line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { Encoding, type ServerFrame } from '../../protocol/frames';
import { srcBody, srcOf, TestClient, textBody, textOf } from '../helpers/client';
import { APP, CS, KEY } from '../helpers/server';
import type { DeclaredApp } from '../../src/config/config';
import type { Runtime } from '../../src/runtime/runtime';
export { rng } from '../helpers/rng';

export { APP, CS, KEY };

export const PROMPT = {
  welcome: '您好请问有什么可以帮助您的?',
  transferring: '正在为您转接，请稍候',
  transferFailed: '抱歉，当前无客服在线，请稍后再试',
  timeoutEnd: '由于您长时间未回复，本次服务已自动结束，感谢您的支持',
  activeEnd: '本次服务已结束，感谢您的支持',
  success: (nick: string) => `转接人工成功，客服${nick}为您服务`,
  queueing: (pos: number) => `您的问题我们已经收到。当前咨询人数较多，您目前排在第${pos}位，前面还有${pos - 1}人，感谢您的耐心等待`,
};


export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Lets an in-process server take in what sockets sent and finish every turn (timers included). */
export async function settle(s: { runtime: Runtime }, rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await sleep(5);
    await s.runtime.idle();
  }
}

/** A ping round trip: every frame the server pushed before it has arrived. */
export async function roundTrip(...clients: TestClient[]): Promise<void> {
  for (const c of clients) {
    const f = await c.request('ping', {});
    if (f.type !== 'pong') throw new Error(`ping answered with ${JSON.stringify(f)}`);
  }
}

export const dataOf = <T = Record<string, unknown>>(f: ServerFrame): T => f.data as T;

/** Frames received after index `from` (use c.frames.length as a mark). */
export const since = (c: TestClient, from: number): ServerFrame[] => c.frames.slice(from);

export const isText = (s: string) => (f: ServerFrame): boolean => textOf(f) === s;
export const startsWith = (s: string) => (f: ServerFrame): boolean => (textOf(f) ?? '').startsWith(s);

let randomSeq = 1000;
/** A fresh `random` for message.send (the server de-duplicates by it). */
export const nextRandom = (): number => ++randomSeq;

/** src 7 then "转人工"; waits for the success prompt and the agent's session.assigned. Returns the session id. */
export async function toHuman(user: TestClient, agents: TestClient | TestClient[], to = CS): Promise<{ sessionId: string; agent: TestClient }> {
  const list = Array.isArray(agents) ? agents : [agents];
  const a7 = await user.request('message.send', { to, random: nextRandom(), body: srcBody('7') });
  if (a7.type !== 'message.ack') throw new Error(`src 7 refused: ${JSON.stringify(a7)}`);
  const marks = list.map((a) => a.frames.length);
  const ack = await user.request('message.send', { to, random: nextRandom(), body: textBody('转人工') });
  if (ack.type !== 'message.ack') throw new Error(`transfer request refused: ${JSON.stringify(ack)}`);
  const sessionId = dataOf<{ sessionId: string }>(ack).sessionId;
  const isMine = (f: ServerFrame) => f.type === 'session.assigned' && dataOf<{ sessionId: string }>(f).sessionId === sessionId;
  await waitUntil(() => list.some((a, i) => since(a, marks[i]).some(isMine)), 5000, `session.assigned of ${sessionId}`);
  const agent = list.find((a, i) => since(a, marks[i]).some(isMine))!;
  await user.next(startsWith('转接人工成功'), 5000, 'transfer success prompt');
  return { sessionId, agent };
}

/** Connects an agent and waits until the server has taken the connection in (agent.state, when sent). */
export async function connectAgent(port: number, mail: string, encoding: Encoding = Encoding.Json): Promise<TestClient> {
  const c = await connect(port, mail, 'agent', encoding);
  await c.next((f) => f.type === 'agent.state', 2000, 'agent.state').catch(() => undefined);
  return c;
}

export async function connect(port: number, identity: string, role: 'user' | 'agent', encoding: Encoding = Encoding.Json, usersig?: string, sdkAppId = APP): Promise<TestClient> {
  const c = await TestClient.connect({ port, sdkAppId, key: KEY, identity, role, encoding, usersig });
  // A reset after open would otherwise be an unhandled 'error' event.
  c.ws.on('error', () => undefined);
  return c;
}

/** Opens a socket with an explicit query and collects what the server says before closing it. */
export function rawConnect(port: number, query: Record<string, string>, timeoutMs = 3000): Promise<{ frames: ServerFrame[]; code?: number; opened: boolean }> {
  const url = `ws://127.0.0.1:${port}/v4/ws?${new URLSearchParams(query)}`;
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    const frames: ServerFrame[] = [];
    let opened = false;
    const timer = setTimeout(() => { ws.terminate(); resolve({ frames, opened }); }, timeoutMs);
    ws.on('open', () => { opened = true; });
    ws.on('message', (data, binary) => frames.push(binary ? { type: 'binary', data } : JSON.parse(data.toString())));
    ws.on('error', () => undefined);
    ws.on('close', (code) => { clearTimeout(timer); resolve({ frames, code, opened }); });
  });
}

export function httpGet(port: number, p: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** All stored messages of a conversation, paging history.sync until `more` is false. */
export async function fullHistory(c: TestClient, query: { to?: string; sessionId?: string }): Promise<{ seq: number; msgKey: string; sessionId: string; fromRole: number; body: unknown[]; account: string; time: number; from: string }[]> {
  type M = { seq: number; msgKey: string; sessionId: string; fromRole: number; body: unknown[]; account: string; time: number; from: string };
  const out: M[] = [];
  let after = 0;
  for (let page = 0; page < 1000; page++) {
    const h = await c.request('history.sync', { ...query, afterSeq: after });
    if (h.type !== 'history') throw new Error(`history.sync refused: ${JSON.stringify(h)}`);
    const d = dataOf<{ messages: M[]; more: boolean }>(h);
    out.push(...d.messages);
    if (!d.more || d.messages.length === 0) break;
    after = d.messages[d.messages.length - 1].seq;
  }
  return out;
}

export const textsOf = (ms: { body: unknown[] }[]): string[] =>
  ms.flatMap((m) => (m.body as { MsgType: string; MsgContent: { Text?: string } }[]).filter((e) => e.MsgType === 'TIMTextElem').map((e) => e.MsgContent.Text!));

export const srcsOf = (ms: { body: unknown[] }[]): string[] =>
  ms.map((m) => srcOf({ type: 'message', data: m })).filter((s): s is string => s !== undefined);

export function tempDir(prefix = 'desk-it-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeConfig(dir: string, app: DeclaredApp): string {
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ apps: [app] }));
  return file;
}

const repoRoot = path.resolve(__dirname, '..', '..', '..');

export interface ChildServer {
  proc: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code / signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  stop(): Promise<void>;
}

interface MainOptions { dataDir: string; configFile: string; logLevel?: string; port?: number; env?: Record<string, string> }

/** dist/src/main.js on loopback with the given data dir and config (any free port unless one is named). */
const mainArgs = (o: MainOptions): string[] =>
  [path.join(repoRoot, 'dist/src/main.js'), '--port', String(o.port ?? 0), '--host', '127.0.0.1', '--data-dir', o.dataDir, '--config', o.configFile, '--log-level', o.logLevel ?? 'info'];

const spawnDesk = (args: string[], env: Record<string, string> = {}): ChildProcess =>
  spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DESK_CONFIG: '', DESK_PORT: '', ...env } });

/** Runs dist/src/main.js to its end (a start that should be refused): its exit code and output. */
export function runMain(o: MainOptions): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawnDesk(mainArgs(o), o.env);
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d) => (stdout += d));
  proc.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15000);
  // 'close', not 'exit': the output is complete only then.
  return new Promise((resolve) => proc.once('close', (code) => {
    clearTimeout(timer);
    resolve({ code, stdout, stderr });
  }));
}

/**
 * Starts a server process and resolves once it logged its port.
 * `script`: 'main' = dist/src/main.js with flags; 'custom' = _server-main.js with JSON options (limits, log level).
 */
export async function spawnServer(o: MainOptions & { script: 'main' | 'custom'; limits?: Record<string, number> }): Promise<ChildServer> {
  const args = o.script === 'main'
    ? mainArgs(o)
    : [path.join(__dirname, '_server-main.js'), JSON.stringify({ dataDir: o.dataDir, configFile: o.configFile, limits: o.limits, logLevel: o.logLevel ?? 'warn' })];
  const proc = spawnDesk(args, o.env);
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  let exitedFlag = false;
  void exited.then(() => { exitedFlag = true; });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start; stderr: ${err.slice(-2000)} stdout: ${out.slice(-2000)}`)), 15000);
    proc.stdout!.setEncoding('utf8');
    proc.stderr!.setEncoding('utf8');
    proc.stdout!.on('data', (d: string) => {
      out += d;
      const line = out.split('\n').slice(0, -1).find((l) => l.includes('"desk listening"'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    proc.stderr!.on('data', (d: string) => { err += d; });
    void exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`server exited (${code ?? signal}) before listening; stderr: ${err.slice(-2000)}`)); });
  });
  return {
    proc, port, exited,
    stdout: () => out,
    stderr: () => err,
    alive: () => !exitedFlag && proc.exitCode === null && proc.signalCode === null,
    async stop() {
      if (exitedFlag) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * The first frame at index ≥ `from` matching `pred`, waiting for it if needed. Unlike TestClient.next it keeps no
 * cursor, so frames that arrive in one burst can be looked for in any order.
 */
export async function seen(c: TestClient, pred: (f: ServerFrame) => boolean, what = 'frame', from = 0, timeoutMs = 3000): Promise<ServerFrame> {
  let found: ServerFrame | undefined;
  try {
    await waitUntil(() => (found = c.frames.slice(from).find(pred)) !== undefined, timeoutMs, what);
  } catch {
    throw new Error(`timed out waiting for ${what}; last frames: ${JSON.stringify(c.frames.slice(-6)).slice(0, 3000)}`);
  }
  return found!;
}
