/** Working-hours check: pure, from a time and the account's weekly plan in the app's time zone. */
import { weekdays, type WorkTimeConfig } from '../protocol/app-model';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'long', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

export function withinWorkingHours(config: WorkTimeConfig, atMs: number, timeZone: string): boolean {
  if (config.Type !== 1) return true;
  const parts = formatter(timeZone).formatToParts(new Date(atMs));
  const day = parts.find((p) => p.type === 'weekday')?.value as (typeof weekdays)[number];
  const hhmm = `${parts.find((p) => p.type === 'hour')?.value}:${parts.find((p) => p.type === 'minute')?.value}`;
  return config.Periods.some((p) => p.Day === day && p.PeriodsWithinOneDay.some((w) => hhmm >= w.Start && hhmm < w.End));
}
