/**
 * A local stand-in for an OpenAI-compatible embeddings server (loopback, random port). Its "model" knows a few
 * customer-service concepts by their words in English and Chinese: texts that name the same concept get close
 * vectors even when they share no word, texts about different concepts far ones, texts it does not know vectors of
 * their own. It records each request, and can be told to fail.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const concepts: string[][] = [
  ['track', 'parcel', 'package', 'delivery', 'shipping', 'shipped', '物流', '快递', '包裹', '到哪'],
  ['refund', 'money back', '退款', '退钱'],
  ['member', 'membership', 'benefit', 'perks', '会员', '权益', '好处'],
  ['invoice', 'receipt', '发票', '报销'],
  ['opening hours', 'open', 'close', '营业', '几点'],
];
/** Dimensions a text no concept names spreads over, by the hash of its characters. */
const OTHER = 8;

export function conceptVector(text: string): number[] {
  const s = text.toLowerCase();
  const v = concepts.map((words) => words.filter((w) => s.includes(w)).length);
  const other = new Array<number>(OTHER).fill(0);
  if (v.every((x) => x === 0)) for (const ch of s) other[ch.codePointAt(0)! % OTHER]! += 1;
  // Something shared by all: real models never give two texts a cosine of 0.
  return [...v, ...other, 0.3];
}

export interface FakeEmbeddings {
  url: string;
  requests: { auth?: string; model: string; input: string[] }[];
  fail: boolean;
  close(): Promise<void>;
}

export async function fakeEmbeddings(): Promise<FakeEmbeddings> {
  const fake: FakeEmbeddings = { url: '', requests: [], fail: false, close: async () => undefined };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += String(c); });
    req.on('end', () => {
      const body = JSON.parse(raw) as { model: string; input: string[] };
      fake.requests.push({ auth: req.headers.authorization, model: body.model, input: body.input });
      if (fake.fail) { res.writeHead(500).end('{"error":"overloaded"}'); return; }
      res.writeHead(200, { 'content-type': 'application/json' });
      // Reversed, so that the client must place each vector by its index.
      res.end(JSON.stringify({ object: 'list', data: body.input.map((t, index) => ({ object: 'embedding', index, embedding: conceptVector(t) })).reverse() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  fake.close = () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return fake;
}
