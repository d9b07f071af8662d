/** Wall-clock parts of an instant in a time zone (working hours, statistics days, version numbers). */

export interface ZonedParts { weekday: string; year: string; month: string; day: string; hour: string; minute: string; second: string }

/** Formatters by time zone: making one costs far more than using it. */
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Month, day, hour, minute and second are two digits; the hour runs 00–23; the weekday is the English name. */
export function zonedParts(ms: number, timeZone: string): ZonedParts {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, weekday: 'long', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(ms)) out[p.type] = p.value;
  return out as unknown as ZonedParts;
}
