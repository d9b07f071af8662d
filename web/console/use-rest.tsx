/** A v4 call the console shows: its answer, its failure, and a way to ask again (or every `everyMs`). */
import { useEffect, useState } from 'preact/hooks';
import { restCall, type AdminCredentials, type Envelope } from '../lib/api';
import { t } from '../lib/i18n';

export function useRest(admin: AdminCredentials, path: string, body: Record<string, unknown> = {}, everyMs = 0): { data?: Envelope; error?: string; reload: () => void } {
  const [data, setData] = useState<Envelope>();
  const [error, setError] = useState<string>();
  const [round, setRound] = useState(0);
  const key = JSON.stringify(body);
  useEffect(() => {
    let live = true;
    restCall(admin, path, body).then((r) => { if (live) { setData(r); setError(undefined); } }, (err: Error) => { if (live) setError(err.message); });
    const timer = everyMs > 0 ? setTimeout(() => setRound((n) => n + 1), everyMs) : undefined;
    return () => { live = false; clearTimeout(timer); };
  }, [path, key, round]);
  return { data, error, reload: () => setRound((n) => n + 1) };
}

/** A table of rows, or "nothing here". */
export function Table<T>({ rows, columns, caption }: { rows: readonly T[]; columns: [string, (r: T) => preact.ComponentChildren][]; caption?: string }) {
  if (rows.length === 0) return <p class="muted">{t('nothing')}</p>;
  return (
    <div style="overflow-x:auto">
      <table>
        {caption && <caption class="sr-only">{caption}</caption>}
        <thead><tr>{columns.map(([h]) => <th key={h} scope="col">{h}</th>)}</tr></thead>
        <tbody>{rows.map((r, i) => <tr key={i}>{columns.map(([h, cell]) => <td key={h}>{cell(r)}</td>)}</tr>)}</tbody>
      </table>
    </div>
  );
}

export function Failure({ error }: { error?: string }) {
  return error ? <p class="banner error" role="alert">{error}</p> : null;
}

/**
 * A change the console makes: `[failure, run]`, where `run(change)` makes it, keeps its failure for display, and
 * resolves to whether it succeeded.
 */
export function useChange(): [string | undefined, (change: () => Promise<unknown>) => Promise<boolean>] {
  const [error, setError] = useState<string>();
  const run = async (change: () => Promise<unknown>): Promise<boolean> => {
    try {
      await change();
      setError(undefined);
      return true;
    } catch (err) {
      setError((err as Error).message);
      return false;
    }
  };
  return [error, run];
}

/** A form's submit handler: `change` gets its fields; the form is cleared when the change succeeds. */
export function onSubmit(run: ReturnType<typeof useChange>[1], change: (fields: FormData) => Promise<unknown>, after?: () => void): (e: Event) => Promise<void> {
  return async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    if (await run(() => change(new FormData(form)))) {
      form.reset();
      after?.();
    }
  };
}
