/** Customer-service accounts, members and member groups: lists, and adding members and groups. */
import { useState } from 'preact/hooks';
import { restCall, webCall, type AdminCredentials } from '../lib/api';
import { t } from '../lib/i18n';
import { Failure, onSubmit, Table, useChange, useRest } from './use-rest';

const ROLE_NAMES: Record<number, string> = { 1: 'superAdmin', 5: 'staff', 7: 'admin' };

export function Accounts({ admin }: { admin: AdminCredentials }) {
  const list = useRest(admin, 'desk_http_svc/get_im_agent_list');
  const [error, run] = useChange();
  const toggleRobot = (id: string, disabled: number) =>
    run(() => restCall(admin, 'desk_http_svc/update_im_agent', { IMAgentUserID: id, ChatbotDisabled: disabled ? 0 : 1 })).then(list.reload);
  return (
    <section aria-labelledby="accounts">
      <h2 id="accounts">{t('accounts')}</h2>
      <Failure error={error ?? list.error} />
      <Table caption={t('accounts')} rows={(list.data?.Data ?? []) as Record<string, any>[]} columns={[
        [t('id'), (r) => r.IMAgentUserID],
        [t('nickname'), (r) => r.IMAgentNick],
        [t('group'), (r) => r.AgentGroupId],
        [t('robot'), (r) => (
          <button type="button" aria-pressed={!r.ChatbotDisabled} onClick={() => void toggleRobot(r.IMAgentUserID, r.ChatbotDisabled)}>
            {r.ChatbotDisabled ? t('off') : t('on')}
          </button>
        )],
      ]} />
    </section>
  );
}

export function Members({ admin }: { admin: AdminCredentials }) {
  const list = useRest(admin, 'desk_http_svc/get_member_list', { PageSize: 100, PageNum: 0 });
  const [error, run] = useChange();
  const add = onSubmit(run, (f) => restCall(admin, 'desk_http_svc/create_members', {
    MemberList: [{
      MemberMail: String(f.get('mail')), NickName: String(f.get('nickname')) || undefined, RoleIDList: [5],
      MemberGroupIDList: String(f.get('groups') ?? '').split(/[\s,]+/).filter(Boolean).map(Number),
    }],
  }), list.reload);
  const [note, setNote] = useState<string>();
  // A member added here has no password until one is set (the workbench signs in with it).
  const setPassword = onSubmit(run, (f) => webCall('set_password', {
    SdkAppId: admin.sdkAppId, Identifier: admin.identifier, UserSig: admin.userSig, Mail: String(f.get('mail')), NewPassword: String(f.get('password')),
  }), () => setNote(t('saved')));
  return (
    <section aria-labelledby="members">
      <h2 id="members">{t('members')}</h2>
      <form class="row" onSubmit={add}>
        <label>{t('mail')}<input name="mail" type="email" required maxLength={128} /></label>
        <label>{t('nickname')}<input name="nickname" maxLength={32} /></label>
        <label>{t('groups')}<input name="groups" placeholder="1, 2" /></label>
        <button type="submit" class="primary">{t('add')}</button>
      </form>
      <form class="row" onSubmit={setPassword} aria-label={t('setPassword')}>
        <label>{t('mail')}
          <select name="mail" required>
            {((list.data?.MemberList ?? []) as { MemberMail: string }[]).map((m) => <option key={m.MemberMail}>{m.MemberMail}</option>)}
          </select>
        </label>
        <label>{t('newPassword')}<input name="password" type="password" autoComplete="new-password" required minLength={8} maxLength={128} /></label>
        <button type="submit">{t('setPassword')}</button>
        {note && <span role="status" class="muted">{note}</span>}
      </form>
      <Failure error={error ?? list.error} />
      <Table caption={t('members')} rows={(list.data?.MemberList ?? []) as Record<string, any>[]} columns={[
        [t('mail'), (r) => r.MemberMail],
        [t('nickname'), (r) => r.NickName],
        [t('roles'), (r) => (r.RoleIDList ?? []).map((id: number) => ROLE_NAMES[id] ?? id).join(', ')],
        [t('groups'), (r) => (r.MemberGroupIDList ?? []).join(', ')],
        [t('receptionLimit'), (r) => r.EffectiveReceptionLimit],
      ]} />
    </section>
  );
}

export function Groups({ admin }: { admin: AdminCredentials }) {
  const list = useRest(admin, 'desk_http_svc/get_member_group_list', { PageSize: 100, PageNumber: 0 });
  const [error, run] = useChange();
  const add = onSubmit(run, (f) => restCall(admin, 'desk_http_svc/create_member_group', { MemberGroupName: String(f.get('name')) }), list.reload);
  return (
    <section aria-labelledby="groups">
      <h2 id="groups">{t('groups')}</h2>
      <form class="row" onSubmit={add}>
        <label>{t('name')}<input name="name" required maxLength={32} /></label>
        <button type="submit" class="primary">{t('add')}</button>
      </form>
      <Failure error={error ?? list.error} />
      <Table caption={t('groups')} rows={(list.data?.MemberGroupList ?? []) as Record<string, any>[]} columns={[
        [t('id'), (r) => r.MemberGroupID],
        [t('name'), (r) => r.MemberGroupName],
        [t('members'), (r) => r.GroupMemberCount],
        [t('receptionLimit'), (r) => r.ReceptionLimit],
      ]} />
    </section>
  );
}
