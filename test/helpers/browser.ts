/**
 * Debian's Chromium driven by playwright-core, for the web page tests. No browser is downloaded: the tests use the
 * system's (`apt-get install -y chromium`; `.ci/run` installs it when absent) or the one `DESK_CHROMIUM` names.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
export const CHROMIUM_MISSING = 'the web page tests need Chromium: sudo apt-get install -y chromium (or set DESK_CHROMIUM to a Chrome/Chromium binary)';

export function chromiumPath(): string | undefined {
  const named = process.env.DESK_CHROMIUM;
  if (named) return fs.existsSync(named) ? named : undefined;
  return CANDIDATES.find((p) => fs.existsSync(p));
}

/** The screenshots a test run keeps (README's pictures come from here). */
export const SCREENSHOT_DIR = path.resolve(__dirname, '../../../test-results/screenshots');

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error(CHROMIUM_MISSING);
  return chromium.launch({
    executablePath,
    headless: true,
    // A closed network: Chromium's own background connections are refused (and would be retried) without these.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

let shared: Browser | undefined;

/** The test file's browser, started again if it went away (a crashed browser would fail every later test). */
async function browser(): Promise<Browser> {
  if (!shared?.isConnected()) shared = await launchBrowser();
  return shared;
}

export async function closeBrowser(): Promise<void> {
  await shared?.close();
  shared = undefined;
}

/** A browser context of its own (its own storage: another person), at a viewport size and UI language. */
export async function person(viewport = DESKTOP, locale = 'zh-CN'): Promise<BrowserContext> {
  const ctx = await (await browser()).newContext({ viewport, locale, deviceScaleFactor: 1 });
  ctx.setDefaultTimeout(15_000);
  return ctx;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/** Fails the test with what the page logged when it throws (a broken page shows up as a timeout otherwise). */
export function watchErrors(page: Page, errors: string[]): void {
  page.on('pageerror', (err) => errors.push(`${page.url()}: ${err.message}`));
}

/** The serious and critical accessibility faults axe-core finds on the page (WCAG 2 A and AA rules). */
export async function accessibilityFaults(page: Page): Promise<string[]> {
  // Evaluated through the debugging protocol: the page's Content-Security-Policy refuses injected script tags.
  await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
  });
  return violations;
}

/** True when something is drawn on the canvas (a fresh canvas is 300 px wide and blank). */
export async function drawn(page: Page, selector: string): Promise<boolean> {
  return page.locator(selector).evaluate((c: HTMLCanvasElement) => {
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
    return false;
  });
}

/** A page's WebSocket frames from the server, as the page's socket gets them (JSON text frames). */
export interface FramePath {
  /** Frames from now on that `lose` picks never reach the page, as if a server node went down with them unsent. */
  lose(pick: ((frame: { type: string; data?: unknown }) => boolean) | undefined): void;
  /** The frames lost so far. */
  lost: { type: string; data?: unknown }[];
  /** A frame to the page as if the server sent it. */
  push(frame: { type: string; data?: unknown }): void;
}

/** Routes the context's WebSocket connections through the test (call before the page opens one). */
export async function framePath(ctx: BrowserContext): Promise<FramePath> {
  let pick: ((frame: { type: string; data?: unknown }) => boolean) | undefined;
  const toPage = new Set<(text: string) => void>();
  const path: FramePath = {
    lose: (p) => { pick = p; },
    lost: [],
    push: (frame) => { for (const send of toPage) send(JSON.stringify(frame)); },
  };
  await ctx.routeWebSocket(/\/v4\/ws/, (ws) => {
    const server = ws.connectToServer();
    const send = (text: string): void => ws.send(text);
    toPage.add(send);
    // (Handling the page's close stops Playwright passing it on: passed on here.)
    ws.onClose((code, reason) => { toPage.delete(send); void server.close({ code, reason }); });
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => {
      const frame = JSON.parse(String(m)) as { type: string; data?: unknown };
      if (pick?.(frame)) path.lost.push(frame);
      else ws.send(m);
    });
  });
  return path;
}
