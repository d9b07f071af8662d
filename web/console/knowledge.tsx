/** The robot's FAQ: add a question with its answer, list them, try a question in the online test, publish. */
import { useState } from 'preact/hooks';
import { restCall, type AdminCredentials } from '../lib/api';
import { t } from '../lib/i18n';
import { Documents } from './documents';
import { TaskFlows } from './task-flows';
import { Failure, onSubmit, Table, useChange, useRest } from './use-rest';

export function Knowledge({ admin }: { admin: AdminCredentials }) {
  const list = useRest(admin, 'openim_console_http_svc/list_faq', { PageIndex: 1, PageSize: 100 });
  const categories = useRest(admin, 'openim_console_http_svc/desc_faq_category', {});
  const [error, run] = useChange();
  const [note, setNote] = useState<string>();
  const category = ((categories.data?.List ?? []) as { CategoryId: number; MenuType: number }[]).find((c) => c.MenuType === 0)?.CategoryId;
  const add = onSubmit(run, (f) => restCall(admin, 'openim_console_http_svc/add_faq', {
    CategoryId: category, Question: String(f.get('question')), Answer: String(f.get('answer')),
    AnswerType: f.get('markdown') ? 2 : 0,
    SimilarQuestions: String(f.get('similar') ?? '').split('\n').map((s) => s.trim()).filter(Boolean),
  }), () => { setNote(t('saved')); list.reload(); });
  const publish = () => run(async () => setNote(t('published', { v: (await restCall(admin, 'openim_console_http_svc/desk_robot_publish', {})).Version })));
  return (
    <>
      <section aria-labelledby="faq-add">
        <h2 id="faq-add">{t('addFaq')}</h2>
        <form onSubmit={add}>
          <label>{t('question')}<input name="question" required maxLength={500} /></label>
          <label>{t('answer')}<textarea name="answer" required rows={3} /></label>
          <label class="row"><input type="checkbox" name="markdown" /> Markdown</label>
          <label>{t('similarQuestions')}<textarea name="similar" rows={3} /></label>
          <div class="row">
            <button type="submit" class="primary" disabled={category === undefined}>{t('add')}</button>
            <button type="button" onClick={() => void publish()}>{t('publish')}</button>
            {note && <span class="muted" role="status">{note}</span>}
          </div>
          <Failure error={error ?? categories.error} />
        </form>
      </section>
      <OnlineTest admin={admin} />
      <Documents admin={admin} />
      <TaskFlows admin={admin} />
      <section aria-labelledby="faq-list">
        <h2 id="faq-list">{t('knowledge')}</h2>
        <Failure error={list.error} />
        <Table caption={t('knowledge')} rows={(list.data?.QuestionList ?? []) as Record<string, any>[]} columns={[
          [t('question'), (r) => r.StandardQuestion],
          [t('answer'), (r) => r.Answer],
          [t('similarQuestions'), (r) => (r.SimilarQuestions ?? []).join(' / ')],
        ]} />
      </section>
    </>
  );
}

function OnlineTest({ admin }: { admin: AdminCredentials }) {
  const [result, setResult] = useState<Record<string, any>>();
  const [error, run] = useChange();
  const test = async (e: Event) => {
    e.preventDefault();
    const q = String(new FormData(e.currentTarget as HTMLFormElement).get('q'));
    await run(async () => setResult(await restCall(admin, 'openim_console_http_svc/desk_robot_online_test', { Question: q })));
  };
  return (
    <section aria-labelledby="faq-test">
      <h2 id="faq-test">{t('onlineTest')}</h2>
      <form onSubmit={test} class="row">
        <label style="flex:1">{t('question')}<input name="q" required maxLength={500} /></label>
        <button type="submit">{t('test')}</button>
      </form>
      <Failure error={error} />
      {result && (
        <p role="status">{t('strategy')}: <strong>{result.Strategy}</strong> · {t('score')}: {Number(result.Score ?? 0).toFixed(2)}
          {result.Source?.StandardQuestion ? ` · ${result.Source.StandardQuestion}` : ''}</p>
      )}
    </section>
  );
}
