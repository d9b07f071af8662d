/**
 * The browser pages — the agent workbench (/desk/), the user chat page (/chat/), the admin console (/console/) — as
 * `vite build` writes them into one folder: each page's index.html, and content-hashed files under assets/. The
 * files are read once at start and served from memory.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** dist/web, next to dist/src, where the build writes the pages. */
const DEFAULT_WEB_DIR = path.resolve(__dirname, '../../web');

const PAGES = ['desk', 'chat', 'console'] as const;
/** The folder of content-hashed files: a name stands for one content forever, so browsers may keep them. */
const ASSETS = 'assets';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** The pages load only their own files and talk only to this server (REST and WebSocket); no site may frame them. */
const PAGE_CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: https: http:; style-src 'self' 'unsafe-inline'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

type Headers = [string, string][];

interface WebFile {
  body: Buffer;
  etag: string;
  /** What a 304 repeats. */
  validators: Headers;
  content: Headers;
}

function webFile(name: string, body: Buffer): WebFile {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  // A page keeps its name while its content changes: the browser asks again each time (a 304 when unchanged).
  const cache = name.startsWith(`${ASSETS}/`) ? 'public, max-age=31536000, immutable' : 'no-cache';
  const content: Headers = [['content-type', TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream']];
  if (name.endsWith('.html')) content.push(['content-security-policy', PAGE_CSP]);
  return { body, etag, validators: [['etag', etag], ['cache-control', cache]], content };
}

/** Every regular file below `dir` by its '/'-separated path in it; none when the folder does not exist. */
function loadWebFiles(dir: string): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  if (!fs.existsSync(dir)) return files;
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const name = rel ? `${rel}/${e.name}` : e.name;
      // Links are not followed: nothing outside the folder is read.
      if (e.isDirectory()) walk(name);
      else if (e.isFile()) files.set(name, webFile(name, fs.readFileSync(path.join(dir, name))));
    }
  };
  walk('');
  return files;
}

/**
 * The file a request path names (a folder's index.html for a path ending in '/'). Only the files read at start can be
 * named, so a path with `..`, encoded or not, names none.
 */
function fileName(url: string): string | undefined {
  try {
    const name = decodeURIComponent(url).slice(1);
    return name.endsWith('/') ? `${name}index.html` : name;
  } catch {
    return undefined;
  }
}

const notModified = (ifNoneMatch: string, etag: string): boolean =>
  ifNoneMatch.split(',').some((tag) => { const t = tag.trim().replace(/^W\//, ''); return t === etag || t === '*'; });

/** `head`: the headers only, with the length the body would have (a 304 says the length of what it stands for). */
function send(res: HttpResponse, status: string, headers: Headers, body: Buffer | string, head: boolean): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('x-content-type-options', 'nosniff');
    for (const [k, v] of headers) res.writeHeader(k, v);
    // The length by hand: this binding's endWithoutBody(length) leaves the response open.
    if (head) res.writeHeader('content-length', String(Buffer.byteLength(body))).endWithoutBody();
    else res.end(body);
  });
}

/** Mounts GET and HEAD of the pages, their assets, and `/desk` → `/desk/` (likewise the others). */
export function mountWebPages(app: TemplatedApp, dir = DEFAULT_WEB_DIR): void {
  const files = loadWebFiles(dir);
  const built = PAGES.some((p) => files.has(`${p}/index.html`));
  const serve = (res: HttpResponse, req: HttpRequest, head: boolean): void => {
    const name = fileName(req.getUrl());
    const file = name === undefined ? undefined : files.get(name);
    const text: Headers = [['content-type', 'text/plain; charset=utf-8']];
    if (!built) return send(res, '404 Not Found', text, 'web pages are not built: run npm run build\n', head);
    if (!file) return send(res, '404 Not Found', text, 'not found\n', head);
    if (notModified(req.getHeader('if-none-match'), file.etag)) return send(res, '304 Not Modified', file.validators, file.body, true);
    send(res, '200 OK', [...file.content, ...file.validators], file.body, head);
  };
  for (const [method, head] of [['get', false], ['head', true]] as const) {
    for (const page of PAGES) {
      app[method](`/${page}`, (res, req) => {
        const query = req.getQuery();
        send(res, '301 Moved Permanently', [['location', `/${page}/${query ? `?${query}` : ''}`]], '', head);
      });
    }
    for (const prefix of [...PAGES, ASSETS]) app[method](`/${prefix}/*`, (res, req) => serve(res, req, head));
  }
}
