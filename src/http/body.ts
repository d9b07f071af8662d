/** Reading a JSON POST body from uWS and answering it with the v4 envelope (HTTP 200, JSON), for every JSON API. */
import type { HttpResponse } from '@trufflesuite/uws-js-unofficial';
import type { Logger } from 'pino';
import { ErrorCode } from '../../protocol/errors';
import { fail, type Envelope } from '../../protocol/rest/envelope';

/** Bodies larger than this are not read further (message bodies have their own 12 KB limit). */
export const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * Reads the body (`undefined` to `answer` when it is over `maxBytes`: what comes after is not kept) and sends the
 * envelope `answer` resolves to; a handler that throws answers "internal error, retry". `url` names the request in
 * the log.
 */
export function receiveJson(res: HttpResponse, log: Logger, url: string, answer: (raw: Buffer | undefined) => Promise<Envelope>, maxBytes = MAX_REQUEST_BYTES): void {
  let aborted = false;
  res.onAborted(() => { aborted = true; });
  const send = (envelope: Envelope): void => {
    if (!aborted) res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', 'application/json').end(JSON.stringify(envelope)));
  };
  const chunks: Buffer[] = [];
  let size = 0;
  res.onData((chunk, isLast) => {
    size += chunk.byteLength;
    // uWS reuses the chunk's memory after this callback: copy it.
    if (size <= maxBytes) chunks.push(Buffer.from(chunk.slice(0)));
    if (!isLast) return;
    answer(size <= maxBytes ? Buffer.concat(chunks) : undefined).then(send, (err) => {
      log.error({ err, url }, 'rest request failed');
      send(fail(ErrorCode.Internal, 'internal error, retry'));
    });
  });
}

/** The body as a JSON object (an empty body is `{}`), or why it is not one. */
export function jsonObject(raw: Buffer): Record<string, unknown> | string {
  let parsed: unknown;
  try {
    parsed = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
  } catch {
    return 'request body is not valid JSON';
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return 'request body must be a JSON object';
  return parsed as Record<string, unknown>;
}
