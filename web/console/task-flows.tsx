/**
 * The robot's task flows: list them (test environment), write one as JSON, switch it on or off, delete it, and
 * walk it dry with inputs. Publishing (the knowledge section's button) makes test's flows live.
 */
import { useState } from 'preact/hooks';
import { restCall, type AdminCredentials } from '../lib/api';
import { t } from '../lib/i18n';
import { Failure, Table, useChange, useRest } from './use-rest';

const TEST = { Environment: 'test' } as const;

/** A dry run's input line: a form's values as JSON, or an option's text. */
function inputOf(line: string): Record<string, unknown> {
  if (line.startsWith('[')) {
    try {
      return { Form: JSON.parse(line) as unknown };
    } catch {
      // Not JSON after all: the text of an option.
    }
  }
  return { Text: line };
}

/** What a dry run's step sent, as text: plain texts as they are, custom messages by their src. */
function said(bodies: { MsgType: string; MsgContent: { Text?: string; Data?: string } }[][]): string {
  return bodies.map((b) => b.map((e) => e.MsgContent.Text ?? `[src ${String((JSON.parse(e.MsgContent.Data ?? '{}') as { src?: string }).src)}]`).join('')).join(' / ');
}

export function TaskFlows({ admin }: { admin: AdminCredentials }) {
  const list = useRest(admin, 'openim_console_http_svc/desk_robot_task_flow_list', TEST);
  const [error, run] = useChange();
  const [editing, setEditing] = useState<number>();
  const [json, setJson] = useState('');
  const [steps, setSteps] = useState<Record<string, any>[]>();
  const save = () => run(async () => {
    let flow: unknown;
    try { flow = JSON.parse(json); } catch { throw new Error(t('badJson')); }
    if (editing === undefined) setEditing((await restCall(admin, 'openim_console_http_svc/desk_robot_task_flow_add', { ...TEST, TaskFlow: flow })).TaskFlowId as number);
    else await restCall(admin, 'openim_console_http_svc/desk_robot_task_flow_update', { ...TEST, TaskFlowId: editing, TaskFlow: flow });
  }).then(list.reload);
  const edit = (id: number) => run(async () => {
    const flow = (await restCall(admin, 'openim_console_http_svc/desk_robot_task_flow_get', { ...TEST, TaskFlowId: id })).TaskFlow;
    setEditing(id);
    setJson(JSON.stringify(flow, null, 2));
  });
  const toggle = (r: Record<string, any>) => run(() => restCall(admin, 'openim_console_http_svc/desk_robot_task_flow_enable', { ...TEST, TaskFlowId: r.TaskFlowId, Enabled: r.Enabled ? 0 : 1 })).then(list.reload);
  const remove = (id: number) => run(() => restCall(admin, 'openim_console_http_svc/desk_robot_task_flow_delete', { ...TEST, TaskFlowId: id })).then(() => { if (editing === id) setEditing(undefined); list.reload(); });
  const dryRun = (e: Event) => {
    e.preventDefault();
    const lines = String(new FormData(e.currentTarget as HTMLFormElement).get('inputs') ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
    void run(async () => setSteps((await restCall(admin, 'openim_console_http_svc/desk_robot_task_flow_test', { ...TEST, TaskFlowId: editing, Inputs: lines.map(inputOf) })).Steps as Record<string, any>[]));
  };
  return (
    <section aria-labelledby="task-flows">
      <h2 id="task-flows">{t('taskFlows')}</h2>
      <p class="muted">{t('taskFlowsHelp')}</p>
      <Table caption={t('taskFlows')} rows={(list.data?.TaskFlows ?? []) as Record<string, any>[]} columns={[
        [t('name'), (r) => r.Name],
        [t('status'), (r) => (r.Enabled ? t('on') : t('off'))],
        [t('nodes'), (r) => r.Nodes],
        ['', (r) => (
          <span class="row">
            <button type="button" aria-label={`${t('edit')} ${r.Name}`} onClick={() => void edit(r.TaskFlowId)}>{t('edit')}</button>
            <button type="button" aria-label={`${r.Enabled ? t('disable') : t('enable')} ${r.Name}`} onClick={() => void toggle(r)}>{r.Enabled ? t('disable') : t('enable')}</button>
            <button type="button" class="danger" aria-label={`${t('delete')} ${r.Name}`} onClick={() => void remove(r.TaskFlowId)}>{t('delete')}</button>
          </span>
        )],
      ]} />
      <label>{t('definition')}{editing !== undefined ? ` · #${editing}` : ''}
        <textarea rows={12} value={json} spellcheck={false} onInput={(e) => setJson((e.currentTarget as HTMLTextAreaElement).value)} />
      </label>
      <div class="row">
        <button type="button" class="primary" onClick={() => void save()}>{t('save')}</button>
        <button type="button" onClick={() => { setEditing(undefined); setJson(''); setSteps(undefined); }}>{t('newFlow')}</button>
      </div>
      <Failure error={error ?? list.error} />
      {editing !== undefined && (
        <form onSubmit={dryRun}>
          <label>{t('dryRunInputs')}<textarea name="inputs" rows={3} /></label>
          <button type="submit">{t('dryRun')}</button>
        </form>
      )}
      {steps && (
        <ol aria-live="polite">
          {steps.map((s, i) => (
            <li key={i}>
              {s.Input ? `${JSON.stringify(s.Input.Text ?? s.Input.Form)} → ` : ''}{said(s.MsgBodies ?? [])}
              {s.WaitingAt ? ` · ${s.WaitingAt.Kind} ${s.WaitingAt.NodeId}` : ''}{s.Refused ? ` · ${s.Refused}` : ''}{s.Ended ? ` · ${s.Ended}` : ''}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
