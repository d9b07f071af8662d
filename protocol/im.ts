/** TIM message elements and the Desk custom messages (`src` codes) that travel inside TIMCustomElem. */

export type TimTextElem = { MsgType: 'TIMTextElem'; MsgContent: { Text: string } };
export type TimCustomElem = { MsgType: 'TIMCustomElem'; MsgContent: { Data: string; Desc?: string; Ext?: string; Sound?: string } };
export type TimOtherElem = {
  MsgType: 'TIMFaceElem' | 'TIMLocationElem' | 'TIMImageElem' | 'TIMSoundElem' | 'TIMFileElem' | 'TIMVideoFileElem';
  MsgContent: Record<string, unknown>;
};
export type TimMsgElement = TimTextElem | TimCustomElem | TimOtherElem;

export const timMsgTypes = [
  'TIMTextElem', 'TIMCustomElem', 'TIMFaceElem', 'TIMLocationElem',
  'TIMImageElem', 'TIMSoundElem', 'TIMFileElem', 'TIMVideoFileElem',
] as const;

/** Sender role of a stored message: 1 user, 2 agent, 3 system or robot. */
export const FromRole = { User: 1, Agent: 2, System: 3 } as const;
export type FromRole = (typeof FromRole)[keyof typeof FromRole];

/** The `src` codes of the Desk custom-message protocol. */
export const Src = {
  StartFlow: '7',
  RatingCard: '9',
  RatingChoice: '10',
  AgentTyping: '12',
  Branch: '15',
  SessionEnd: '19',
  TimeoutEnd: '20',
  RatingRules: '23',
  RequestRating: '24',
  SeatStatus: '26',
  UserEnd: '27',
  RobotCard: '29',
  RichText: '30',
  Stream: '31',
  TaskBranch: '32',
  TaskForm: '33',
} as const;

export interface DeskCustomData { customerServicePlugin: 0; src: string; [k: string]: unknown }

export function text(t: string): TimTextElem {
  return { MsgType: 'TIMTextElem', MsgContent: { Text: t } };
}

export function custom(data: Omit<DeskCustomData, 'customerServicePlugin'>): TimCustomElem {
  return { MsgType: 'TIMCustomElem', MsgContent: { Data: JSON.stringify({ customerServicePlugin: 0, ...data }) } };
}

/** The Desk custom payload of a body, if its first element is one; `undefined` for ordinary messages. */
export function deskPayload(body: readonly TimMsgElement[]): DeskCustomData | undefined {
  const first = body[0];
  if (!first || first.MsgType !== 'TIMCustomElem') return undefined;
  const data = (first as TimCustomElem).MsgContent.Data;
  if (typeof data !== 'string' || !data.includes('customerServicePlugin')) return undefined;
  try {
    const parsed: unknown = JSON.parse(data);
    if (parsed && typeof parsed === 'object' && (parsed as DeskCustomData).customerServicePlugin === 0
      && typeof (parsed as DeskCustomData).src === 'string') return parsed as DeskCustomData;
  } catch {
    // Not JSON: an ordinary custom message of the integrator's own, relayed as is.
  }
  return undefined;
}

/** Plain text of a body (concatenated text elements), used for keyword matching. */
export function plainText(body: readonly TimMsgElement[]): string {
  let s = '';
  for (const e of body) if (e.MsgType === 'TIMTextElem') s += (e as TimTextElem).MsgContent.Text;
  return s;
}

export const SeatStatus = { InSeat: 'inSeat', OutSeat: 'outSeat' } as const;

export function seatStatus(inSeat: boolean): TimCustomElem {
  return custom({ src: Src.SeatStatus, content: { command: 'updateSeatStatus', content: inSeat ? SeatStatus.InSeat : SeatStatus.OutSeat } });
}

/** src 23 bits: auto-send on end, agent may invite, user may request (GAP-21 reading of bit 2). */
export const RatingRuleBit = { AutoSend: 1, AgentInvite: 2, UserRequest: 4 } as const;

export interface RatingMenuItem { id: string; content: string }
export interface RatingCardContent {
  head: string; tail: string; menu: RatingMenuItem[]; type: 1 | 2;
  sessionId: string; effectiveHour: number; expireTime: number;
  selected?: RatingMenuItem;
}

export function ratingCard(menuContent: RatingCardContent): TimCustomElem {
  return custom({ src: Src.RatingCard, menuContent });
}
