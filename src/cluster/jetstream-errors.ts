/** How JetStream refusals read, as nats.js reports them. */

/** A write that named a revision (last sequence) other than the current one (JetStream error 10071). */
export function isWrongLastSequence(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10071 || /wrong last sequence/i.test(e?.message ?? '');
}

/** A stream or message that does not exist. */
export function isNotFound(err: unknown): boolean {
  const e = err as { code?: string | number; api_error?: { err_code?: number; code?: number }; message?: string };
  return e?.api_error?.code === 404 || e?.code === '404' || /not found/i.test(e?.message ?? '');
}
