import t from 'tap';
import type { WorkTimeConfig } from '../../protocol/app-model';
import { withinWorkingHours } from '../../actors/working-hours';

const TZ = 'Asia/Shanghai';
/** An instant by its wall-clock time in Beijing (UTC+8, no daylight saving). */
const at = (isoLocal: string): number => Date.parse(`${isoLocal}+08:00`);

t.test('WorkTimeConfig Type 2: hours by the statutory calendar, workdays and rest days each with their own periods', async (t) => {
  const config = {
    Type: 2, Periods: [],
    LegalWorkTime: [
      { WorkTimeType: 1, PeriodsWithinOneDay: [{ Start: '09:00', End: '18:00' }] },
      { WorkTimeType: 2, PeriodsWithinOneDay: [{ Start: '10:00', End: '12:00' }] },
    ],
  } as unknown as WorkTimeConfig;
  const session = { timeZone: TZ, statutoryCalendar: { holidays: ['2026-10-01', '2026-10-02'], workdays: ['2026-09-27'] } };
  t.ok(withinWorkingHours(config, at('2026-09-28T14:00:00'), session), 'a Monday is a workday');
  t.notOk(withinWorkingHours(config, at('2026-09-28T19:00:00'), session), 'after a workday\'s hours');
  t.ok(withinWorkingHours(config, at('2026-10-01T10:30:00'), session), 'a holiday (a Thursday) has the rest-day hours');
  t.notOk(withinWorkingHours(config, at('2026-10-01T14:00:00'), session), 'and only those');
  t.ok(withinWorkingHours(config, at('2026-09-27T14:00:00'), session), 'a Sunday made a workday');
  t.notOk(withinWorkingHours(config, at('2026-10-03T14:00:00'), session), 'a Saturday is a rest day');
  t.ok(withinWorkingHours(config, at('2026-10-03T11:00:00'), { timeZone: TZ }), 'without a calendar: Monday to Friday are workdays, the weekend rests');
  t.ok(withinWorkingHours({ Type: 0, Periods: [] }, at('2026-10-03T03:00:00'), session), 'Type 0: always');
});
