/**
 * uWebSockets.js from `@trufflesuite/uws-js-unofficial`. On a Node version without a bundled binary the package
 * silently falls back to a slow pure-JS server; Desk refuses to run on it.
 */
import uws from '@trufflesuite/uws-js-unofficial';

export function nativeUws(): typeof uws {
  if (typeof (uws as unknown as { getParts?: unknown }).getParts !== 'function') {
    throw new Error(
      `the native uWebSockets.js binary did not load (Node ${process.versions.node}, ABI ${process.versions.modules}); `
      + 'the package fell back to its pure-JS build, which Desk does not run on. Use Node.js 20 on linux/darwin x64 or arm64, '
      + 'and do not set UWS_USE_FALLBACK.',
    );
  }
  return uws;
}
