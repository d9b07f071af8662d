// The three pages are one multi-page build into dist/web, which the server serves (src/http/web-pages.ts).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      input: { desk: here('desk/index.html'), chat: here('chat/index.html'), console: here('console/index.html') },
    },
  },
});
