/**
 * A local stand-in for an app's backend answering Chatbot.InterfaceInvocation (loopback, random port): it records
 * each call (query and body) and answers as `answer` says.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeBackend {
  url: string;
  calls: { query: URLSearchParams; body: any }[];
  /** The reply to a call's body. */
  answer: (body: any) => unknown;
  close(): Promise<void>;
}

export async function fakeBackend(): Promise<FakeBackend> {
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => { raw += c.toString(); });
    req.on('end', () => {
      const body = JSON.parse(raw);
      b.calls.push({ query: new URL(req.url!, 'http://x').searchParams, body });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(b.answer(body)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const b: FakeBackend = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/order`,
    calls: [],
    answer: () => ({ ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', Body: {} }),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
  return b;
}

