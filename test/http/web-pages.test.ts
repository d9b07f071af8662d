/**
 * The built web pages as a browser gets them from a running server: types, caching and security headers, 304s,
 * the redirect to the pages' folders, no file outside the folder, and a plain answer when nothing was built.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startTestServer, testApp } from '../helpers/server';

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: string }

/** A request with the path sent as written (fetch would resolve `..` before sending). */
function request(port: number, urlPath: string, method = 'GET', headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const SECRET = 'outside the web folder';

/** A folder as `vite build` leaves it, with a file next to it and a link out of it that must never be served. */
function builtPages(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-web-'));
  const dir = path.join(root, 'web');
  for (const page of ['desk', 'chat', 'console']) {
    fs.mkdirSync(path.join(dir, page), { recursive: true });
    fs.writeFileSync(path.join(dir, page, 'index.html'), `<!doctype html><title>${page}</title><script type="module" src="/assets/${page}-1a2b3c.js"></script>`);
  }
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'assets', 'desk-1a2b3c.js'), 'console.log("desk");');
  fs.writeFileSync(path.join(dir, 'assets', 'desk-1a2b3c.js.map'), '{"version":3}');
  fs.writeFileSync(path.join(dir, 'assets', 'style-9f8e.css'), 'body{margin:0}');
  fs.writeFileSync(path.join(dir, 'assets', 'logo-77.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  fs.writeFileSync(path.join(root, 'secret.txt'), SECRET);
  fs.symlinkSync(path.join(root, 'secret.txt'), path.join(dir, 'desk', 'link.txt'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  return dir;
}

const CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: https: http:; style-src 'self' 'unsafe-inline'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

t.test('the pages and their assets are served with their types, caching and security headers', async (t) => {
  const s = await startTestServer(testApp(), { webDir: builtPages() });
  t.teardown(() => s.stop());
  for (const page of ['desk', 'chat', 'console']) {
    const r = await request(s.port, `/${page}/`);
    t.equal(r.status, 200, `/${page}/`);
    t.match(r.body, `<title>${page}</title>`, `/${page}/ is ${page}/index.html`);
    t.match(r.headers, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'content-security-policy': CSP }, `/${page}/ headers`);
    t.match(r.headers.etag, /^"[^"]+"$/, `/${page}/ has an ETag`);
  }
  t.equal((await request(s.port, '/desk/index.html')).status, 200, 'index.html by its name too');

  const js = await request(s.port, '/assets/desk-1a2b3c.js?v=1');
  t.equal(js.body, 'console.log("desk");');
  t.match(js.headers, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' });
  t.notOk(js.headers['content-security-policy'], 'the policy is the pages\'');
  t.equal((await request(s.port, '/assets/style-9f8e.css')).headers['content-type'], 'text/css; charset=utf-8');
  t.equal((await request(s.port, '/assets/logo-77.svg')).headers['content-type'], 'image/svg+xml');
  t.equal((await request(s.port, '/assets/desk-1a2b3c.js.map')).headers['content-type'], 'application/json');

  const head = await request(s.port, '/console/', 'HEAD');
  t.equal(head.status, 200, 'HEAD');
  t.equal(head.body, '', 'HEAD: no body');
  t.equal(head.headers['content-length'], String(Buffer.byteLength((await request(s.port, '/console/')).body)), 'HEAD: the length of the page');

  const missing = await request(s.port, '/desk/nothing.js');
  t.match(missing, { status: 404, body: 'not found\n' }, 'a file that is not there');
  t.equal((await request(s.port, '/desk/', 'POST')).status, 404, 'only GET and HEAD');
  t.equal((await request(s.port, '/healthz')).body, 'ok\n', 'the other routes are untouched');
});

t.test('an unchanged file is answered 304 to a request with its ETag', async (t) => {
  const s = await startTestServer(testApp(), { webDir: builtPages() });
  t.teardown(() => s.stop());
  for (const url of ['/desk/', '/assets/desk-1a2b3c.js']) {
    const first = await request(s.port, url);
    const etag = first.headers.etag!;
    const again = await request(s.port, url, 'GET', { 'if-none-match': etag });
    t.equal(again.status, 304, `${url}: 304`);
    t.equal(again.body, '', `${url}: no body`);
    t.equal(again.headers.etag, etag, `${url}: the same ETag`);
    t.equal(again.headers['cache-control'], first.headers['cache-control'], `${url}: the same caching`);
    t.equal((await request(s.port, url, 'GET', { 'if-none-match': `"other", W/${etag}` })).status, 304, `${url}: among others, weak`);
    const changed = await request(s.port, url, 'GET', { 'if-none-match': '"other"' });
    t.equal(changed.status, 200, `${url}: another ETag gets the file`);
    t.equal(changed.body, first.body);
  }
  t.not((await request(s.port, '/desk/')).headers.etag, (await request(s.port, '/chat/')).headers.etag, 'each content its own ETag');
});

t.test('/desk, /chat and /console redirect to their folders, keeping the query', async (t) => {
  const s = await startTestServer(testApp(), { webDir: builtPages() });
  t.teardown(() => s.stop());
  t.match(await request(s.port, '/desk'), { status: 301, headers: { location: '/desk/' } });
  t.match(await request(s.port, '/chat?sdkappid=1400000001&lang=en'), { status: 301, headers: { location: '/chat/?sdkappid=1400000001&lang=en' } });
  t.match(await request(s.port, '/console', 'HEAD'), { status: 301, headers: { location: '/console/' } });
  const followed = await fetch(`http://127.0.0.1:${s.port}/chat?x=1`);
  t.equal(followed.url, `http://127.0.0.1:${s.port}/chat/?x=1`, 'a browser lands on the page');
  t.match(await followed.text(), '<title>chat</title>');
});

t.test('no path reaches a file outside the folder', async (t) => {
  const s = await startTestServer(testApp(), { webDir: builtPages() });
  t.teardown(() => s.stop());
  for (const url of [
    '/desk/../secret.txt', '/desk/../../secret.txt', '/assets/../../secret.txt', '/desk/%2e%2e/secret.txt', '/desk/%2E%2E%2Fsecret.txt',
    '/assets/..%2f..%2fsecret.txt', '/chat/..\\secret.txt', '/desk/link.txt', '/desk/%ff', '/desk/../chat/index.html',
  ]) {
    const r = await request(s.port, url);
    t.equal(r.status, 404, `${url}: 404`);
    t.notMatch(r.body, SECRET, `${url}: nothing of the file`);
    t.notMatch(r.body, '<title>', `${url}: no page`);
  }
  t.equal((await request(s.port, '/healthz')).status, 200, 'the server goes on');
});

t.test('without built pages the page routes say how to build them', async (t) => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-web-empty-'));
  t.teardown(() => fs.rmSync(empty, { recursive: true, force: true }));
  for (const dir of [empty, path.join(empty, 'never-made')]) {
    const s = await startTestServer(testApp(), { webDir: dir });
    for (const url of ['/desk/', '/chat/', '/console/index.html', '/assets/desk-1a2b3c.js']) {
      const r = await request(s.port, url);
      t.match(r, { status: 404, body: 'web pages are not built: run npm run build\n', headers: { 'content-type': 'text/plain; charset=utf-8' } }, `${url}`);
    }
    t.equal((await request(s.port, '/healthz')).status, 200, 'the server runs without them');
    await s.stop();
  }
});
