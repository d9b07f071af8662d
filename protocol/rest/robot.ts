/** Robot base configuration, languages and robots (rest-api.md §2.2–2.3, 2.28–2.30, 2.48): schemas and wire form. */
import { LANGUAGE_TAGS, type RobotConfig } from '../app-model';
import { extensions, languageTag } from './knowledge';

const flag = { type: 'enum', values: [0, 1], optional: true } as const;
/** Thresholds are typed String but the examples also send numbers: both are taken, 0–1. */
const threshold = {
  type: 'multi', optional: true,
  rules: [{ type: 'number', min: 0, max: 1 }, { type: 'string', numeric: true, pattern: /^(0(\.\d+)?|1(\.0+)?)$/ }],
} as const;


export const descRobotConfig = { $$strict: true, LanguageTag: languageTag, ...extensions } as const;
export const updateRobotConfig = {
  $$strict: true,
  ...extensions,
  WelcomeCardEnable: flag,
  WelcomeCardTitle: { type: 'string', max: 200, optional: true },
  WelcomeCardQuestions: { type: 'array', optional: true, max: 20, items: { type: 'string', min: 1, max: 200 } },
  ToAgentEnable: flag,
  DirectAnsweringReaches: threshold,
  ChitchatEnable: flag,
  ChitchatReaches: threshold,
  ClarifyEnable: flag,
  ClarifyReaches: threshold,
  ClarifyMessage: { type: 'string', max: 200, optional: true },
  ClarifyNumber: { type: 'number', integer: true, min: 1, max: 10, optional: true },
  FallbackMsg: { type: 'string', max: 2000, optional: true },
  LanguageTag: languageTag,
} as const;
export const languageOnly = { $$strict: true, LanguageTag: { type: 'string', max: 16 } } as const;
export const noFields = { $$strict: true } as const;
export const addRobot = { $$strict: true, RobotNickName: { type: 'string', min: 1, max: 50 } } as const;

export const isLanguageTag = (tag: string): boolean => (LANGUAGE_TAGS as readonly string[]).includes(tag);

export function robotConfigFields(c: RobotConfig): Record<string, unknown> {
  return {
    WelcomeCardEnable: c.welcomeCardEnable ? 1 : 0, WelcomeCardTitle: c.welcomeCardTitle, WelcomeCardQuestions: c.welcomeCardQuestions,
    ToAgentEnable: c.toAgentEnable ? 1 : 0, DirectAnsweringReaches: String(c.directAnsweringReaches),
    ChitchatEnable: c.chitchatEnable ? 1 : 0, ChitchatReaches: String(c.chitchatReaches),
    ClarifyEnable: c.clarifyEnable ? 1 : 0, ClarifyReaches: String(c.clarifyReaches),
    ClarifyMessage: c.clarifyMessage, ClarifyNumber: c.clarifyNumber, FallbackMsg: c.fallbackMsg,
  };
}

/** The configuration with the given fields applied (a partial update). */
export function applyRobotConfig(c: RobotConfig, b: Record<string, unknown>): RobotConfig {
  const out: RobotConfig = { ...c };
  const has = (k: string): boolean => b[k] !== undefined;
  if (has('WelcomeCardEnable')) out.welcomeCardEnable = b.WelcomeCardEnable === 1;
  if (has('WelcomeCardTitle')) out.welcomeCardTitle = b.WelcomeCardTitle as string;
  if (has('WelcomeCardQuestions')) out.welcomeCardQuestions = b.WelcomeCardQuestions as string[];
  if (has('ToAgentEnable')) out.toAgentEnable = b.ToAgentEnable === 1;
  if (has('DirectAnsweringReaches')) out.directAnsweringReaches = Number(b.DirectAnsweringReaches);
  if (has('ChitchatEnable')) out.chitchatEnable = b.ChitchatEnable === 1;
  if (has('ChitchatReaches')) out.chitchatReaches = Number(b.ChitchatReaches);
  if (has('ClarifyEnable')) out.clarifyEnable = b.ClarifyEnable === 1;
  if (has('ClarifyReaches')) out.clarifyReaches = Number(b.ClarifyReaches);
  if (has('ClarifyMessage')) out.clarifyMessage = b.ClarifyMessage as string;
  if (has('ClarifyNumber')) out.clarifyNumber = b.ClarifyNumber as number;
  if (has('FallbackMsg')) out.fallbackMsg = b.FallbackMsg as string;
  return out;
}
