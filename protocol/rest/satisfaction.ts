/** get/update_satisfaction_settings (rest-api.md §2.26–2.27) and their mapping to the app's satisfaction config. */
import type { SatisfactionConfig } from '../app-model';

const label = { type: 'string', min: 1, max: 200 } as const;
const content = {
  type: 'object', strict: true,
  props: {
    RatingInvitationMessage: { type: 'string', max: 1000, optional: true },
    SubmissionMessage: { type: 'string', max: 1000 },
    OneStarContent: label, TwoStarContent: label, ThreeStarContent: label, FourStarContent: label, FiveStarContent: label,
    SubmissionValidityPeriod: { type: 'number', integer: true, min: 1, max: 24 * 30 },
  },
} as const;

export const getSatisfactionSettings = { $$strict: true } as const;
export const updateSatisfactionSettings = {
  $$strict: true,
  SatisfactionEnabled: { type: 'enum', values: [0, 1], optional: true },
  InvitationMethod: { type: 'enum', values: [1, 2, 3], optional: true },
  SatisfactionContent: { ...content, optional: true },
  SatisfactionContentMultilingual: { type: 'record', optional: true, key: { type: 'string', max: 16 }, value: content },
} as const;

/** A language's rating settings in a customer-service account's multilingual form: the same fields, each optional. */
export const accountSatisfaction = {
  type: 'object', optional: true, strict: true,
  props: {
    SatisfactionEnabled: updateSatisfactionSettings.SatisfactionEnabled,
    InvitationMethod: updateSatisfactionSettings.InvitationMethod,
    SatisfactionContent: { ...content, optional: true, props: Object.fromEntries(Object.entries(content.props).map(([k, rule]) => [k, { ...rule, optional: true }])) },
  },
} as const;

/** Rating settings as given, updated by the fields of `patch` (the content field by field). */
export function mergeSatisfaction(base: Record<string, unknown> = {}, patch: Record<string, unknown>): Record<string, unknown> {
  const content = patch.SatisfactionContent as Record<string, unknown> | undefined;
  return { ...base, ...patch, ...(content ? { SatisfactionContent: { ...(base.SatisfactionContent as Record<string, unknown> | undefined), ...content } } : {}) };
}

const stars = ['OneStarContent', 'TwoStarContent', 'ThreeStarContent', 'FourStarContent', 'FiveStarContent'] as const;

export function satisfactionFields(s: SatisfactionConfig): Record<string, unknown> {
  return {
    SatisfactionEnabled: s.enabled ? 1 : 0,
    InvitationMethod: s.invitationMethod,
    SatisfactionContent: {
      RatingInvitationMessage: s.invitationText, SubmissionMessage: s.submissionText,
      ...Object.fromEntries(stars.map((k, i) => [k, s.levels[i]])),
      SubmissionValidityPeriod: s.validityHours,
    },
    SatisfactionContentMultilingual: s.multilingual ?? {},
  };
}

/** The config with the given fields applied; omitted fields stay as they were. */
export function applySatisfaction(s: SatisfactionConfig, body: Record<string, unknown>): SatisfactionConfig {
  const out: SatisfactionConfig = { ...s };
  if (body.SatisfactionEnabled !== undefined) out.enabled = body.SatisfactionEnabled === 1;
  if (body.InvitationMethod !== undefined) out.invitationMethod = body.InvitationMethod as 1 | 2 | 3;
  const c = body.SatisfactionContent as Record<string, unknown> | undefined;
  if (c) {
    if (c.RatingInvitationMessage !== undefined) out.invitationText = c.RatingInvitationMessage as string;
    out.submissionText = c.SubmissionMessage as string;
    out.levels = stars.map((k) => c[k] as string) as SatisfactionConfig['levels'];
    out.validityHours = c.SubmissionValidityPeriod as number;
  }
  if (body.SatisfactionContentMultilingual !== undefined) out.multilingual = body.SatisfactionContentMultilingual as Record<string, Record<string, unknown>>;
  return out;
}
