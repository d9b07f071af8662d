/**
 * A local stand-in for an OpenAI-compatible chat-completions server (loopback, random port): it records each request
 * and streams the pieces it is given as server-sent events, fails with HTTP 500, or never answers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeModel {
  url: string;
  requests: { auth?: string; body: { model: string; stream: boolean; messages: { role: string; content: string }[] } }[];
  /** Connections the fake saw closed before it finished answering. */
  cutOff: number;
  close(): Promise<void>;
}

export type Behaviour = { kind: 'stream'; pieces: string[]; gapMs: number } | { kind: 'fail' } | { kind: 'hang' };

export async function fakeModel(behaviour: Behaviour): Promise<FakeModel> {
  const fake: FakeModel = { url: '', requests: [], cutOff: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += String(c); });
    req.on('end', async () => {
      fake.requests.push({ auth: req.headers.authorization, body: JSON.parse(raw) });
      if (behaviour.kind === 'fail') { res.writeHead(500).end('{"error":"overloaded"}'); return; }
      if (behaviour.kind === 'hang') return;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let done = false;
      res.on('close', () => { if (!done) fake.cutOff++; });
      res.write(': a comment line the client skips\n\n');
      for (const piece of behaviour.pieces) {
        if (res.destroyed) return;
        res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: piece } }] })}\n\n`);
        await new Promise((r) => setTimeout(r, behaviour.gapMs));
      }
      res.write('data: not json at all\n\n');
      res.write('data: [DONE]\n\n');
      done = true;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  fake.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return fake;
}

