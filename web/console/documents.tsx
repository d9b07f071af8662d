/** The robot's documents (document QA): upload a text, markdown, PDF or Word file, list them, delete one. */
import { adminQuery, ApiError, restCall, type AdminCredentials, type Envelope } from '../lib/api';
import { t } from '../lib/i18n';
import { Failure, onSubmit, Table, useChange, useRest } from './use-rest';

async function upload(admin: AdminCredentials, file: File): Promise<void> {
  const res = await fetch(`/v4/desk_upload/robot_document?${adminQuery(admin, { Name: file.name })}`, { method: 'POST', body: file });
  const env = (await res.json()) as Envelope;
  if (env.ActionStatus !== 'OK') throw new ApiError(env.ErrorCode, env.ErrorInfo);
}

export function Documents({ admin }: { admin: AdminCredentials }) {
  const list = useRest(admin, 'openim_console_http_svc/desk_robot_doc_list');
  const [error, run] = useChange();
  const add = onSubmit(run, async (f) => upload(admin, f.get('file') as File), list.reload);
  const remove = (id: string) => run(() => restCall(admin, 'openim_console_http_svc/desk_robot_doc_delete', { DocumentId: id })).then(list.reload);
  return (
    <section aria-labelledby="documents">
      <h2 id="documents">{t('documents')}</h2>
      <p class="muted">{t('documentsHelp')}</p>
      <form class="row" onSubmit={add}>
        <label>{t('file')}<input name="file" type="file" required accept=".txt,.md,.markdown,.pdf,.docx" /></label>
        <button type="submit" class="primary">{t('upload')}</button>
      </form>
      <Failure error={error ?? list.error} />
      <Table caption={t('documents')} rows={(list.data?.Documents ?? []) as Record<string, any>[]} columns={[
        [t('name'), (r) => r.Name],
        [t('passages'), (r) => r.Passages],
        [t('added'), (r) => new Date(r.AddTime * 1000).toLocaleString()],
        ['', (r) => <button type="button" class="danger" aria-label={`${t('delete')} ${r.Name}`} onClick={() => void remove(r.DocumentId)}>{t('delete')}</button>],
      ]} />
    </section>
  );
}
