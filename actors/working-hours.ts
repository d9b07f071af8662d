/** Working-hours check: pure, from a time and the account's weekly plan in the app's time zone. */
import { weekdays, type WorkTimeConfig } from '../protocol/app-model';
import { zonedParts } from '../protocol/time-zone';

export function withinWorkingHours(config: WorkTimeConfig, atMs: number, timeZone: string): boolean {
  if (config.Type !== 1) return true;
  const parts = zonedParts(atMs, timeZone);
  const day = parts.weekday as (typeof weekdays)[number];
  const hhmm = `${parts.hour}:${parts.minute}`;
  return config.Periods.some((p) => p.Day === day && p.PeriodsWithinOneDay.some((w) => hhmm >= w.Start && hhmm < w.End));
}
