/** Every LMDB key is built here. */
import type { Address } from '../../actors/types';

export const snapshotKey = (a: Address): string => a;
export const eventRange = (a: Address, afterN: number): { start: [string, number]; end: [string, number] } => ({
  start: [a, afterN + 1], end: [a, Number.MAX_SAFE_INTEGER],
});
export const messageRange = (conv: Address, afterSeq: number): { start: [string, number]; end: [string, number] } => ({
  start: [conv, afterSeq + 1], end: [conv, Number.MAX_SAFE_INTEGER],
});
export const timerKey = (a: Address, key: string): [string, string] => [a, key];
export const activeKey = (app: number, userId: string, csAccount: string): [number, string, string] => [app, userId, csAccount];
// '\uffff' sorts after every account id (a boolean would sort before strings).
export const activeRange = (app: number, userId: string): { start: [number, string]; end: [number, string, string] } => ({
  start: [app, userId], end: [app, userId, '\uffff'],
});
export const sessionIndexKey = (sessionId: string): string => sessionId;
export const appKey = (sdkAppId: number): [string, number] => ['app', sdkAppId];
export const chatGroupKey = (app: number, groupId: string): [number, string] => [app, groupId];
