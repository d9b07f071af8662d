/** Working-hours check: pure, from a time and the account's plan in the app's time zone. */
import { StatutoryDay, weekdays, type StatutoryCalendar, type WorkTimeConfig, type WorkTimePeriod } from '../protocol/app-model';
import { zonedParts } from '../protocol/time-zone';

export function withinWorkingHours(config: WorkTimeConfig, atMs: number, where: { timeZone: string; statutoryCalendar?: StatutoryCalendar }): boolean {
  if (config.Type === 0) return true;
  const parts = zonedParts(atMs, where.timeZone);
  const hhmm = `${parts.hour}:${parts.minute}`;
  const within = (periods: WorkTimePeriod[]): boolean => periods.some((w) => hhmm >= w.Start && hhmm < w.End);
  if (config.Type === 1) {
    const day = parts.weekday as (typeof weekdays)[number];
    return config.Periods.some((p) => p.Day === day && within(p.PeriodsWithinOneDay));
  }
  const kind = statutoryDay(`${parts.year}-${parts.month}-${parts.day}`, parts.weekday, where.statutoryCalendar);
  return (config.LegalWorkTime ?? []).some((l) => l.WorkTimeType === kind && within(l.PeriodsWithinOneDay));
}

/** Monday to Friday work, the weekend rests, unless the calendar makes the date a holiday or a working day. */
function statutoryDay(date: string, weekday: string, calendar: StatutoryCalendar = {}): number {
  if (calendar.holidays?.includes(date)) return StatutoryDay.RestDay;
  if (calendar.workdays?.includes(date)) return StatutoryDay.Workday;
  return weekday === 'Saturday' || weekday === 'Sunday' ? StatutoryDay.RestDay : StatutoryDay.Workday;
}
