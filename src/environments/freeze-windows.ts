import { DateTime } from "luxon";

/**
 * A freeze window as stored in environments.freeze_windows: absolute (`start`, `end`, ISO
 * instants) or recurring (`days` it starts on, `startTime`/`endTime` as HH:MM wall-clock time in
 * the environment's zone; an endTime at or before startTime runs past midnight into the next day).
 */
export interface FreezeWindow {
  start?: string | Date | null;
  end?: string | Date | null;
  days?: readonly string[] | null;
  startTime?: string | null;
  endTime?: string | null;
  reason?: string | null;
}

export const WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"] as const;
const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/**
 * The first window that contains `now`, or null. Recurring windows are read in `timeZone` (IANA)
 * as wall-clock times, so they follow daylight saving: "MON 22:00-06:00" in Europe/Oslo is
 * 21:00-05:00 UTC in winter and 20:00-04:00 in summer; a wall-clock time the DST change skips
 * does not occur that day, and one it repeats counts both times. Absolute windows are
 * [start, end). Throws RangeError for an unknown zone or a malformed window, so a gate fails
 * closed instead of letting a promotion through a freeze it could not read.
 */
export function activeFreezeWindow<W extends FreezeWindow>(windows: readonly W[], timeZone: string, now: Date): W | null {
  const local = DateTime.fromJSDate(now, { zone: timeZone });
  if (!local.isValid) throw new RangeError(`unknown time zone ${timeZone}`);
  const minutes = local.hour * 60 + local.minute;
  const today = WEEKDAYS[local.weekday - 1] as string;
  const yesterday = WEEKDAYS[(local.weekday + 5) % 7] as string;
  for (const window of windows) {
    const active = isRecurring(window)
      ? recurringContains(window, today, yesterday, minutes)
      : absoluteContains(window, now.getTime());
    if (active) return window;
  }
  return null;
}

function isRecurring(window: FreezeWindow): boolean {
  return window.days !== undefined && window.days !== null;
}

function absoluteContains(window: FreezeWindow, at: number): boolean {
  const start = instant(window.start, "start");
  const end = instant(window.end, "end");
  if (end <= start) throw new RangeError("a freeze window's end must be after its start");
  return start <= at && at < end;
}

function instant(value: string | Date | null | undefined, field: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new RangeError(`a freeze window's ${field} is not a date`);
  return ms;
}

function recurringContains(window: FreezeWindow, today: string, yesterday: string, minutes: number): boolean {
  const days = window.days ?? [];
  if (days.length === 0 || days.some((d) => !(WEEKDAYS as readonly string[]).includes(d)))
    throw new RangeError(`a recurring freeze window's days must be among ${WEEKDAYS.join(" ")}`);
  const start = clock(window.startTime, "startTime");
  const end = clock(window.endTime, "endTime");
  if (end > start) return days.includes(today) && start <= minutes && minutes < end;
  // Past midnight: the evening part of a listed day, or the morning part after one.
  return (days.includes(today) && minutes >= start) || (days.includes(yesterday) && minutes < end);
}

function clock(value: string | null | undefined, field: string): number {
  const match = HH_MM.exec(value ?? "");
  if (!match) throw new RangeError(`a recurring freeze window's ${field} must be HH:MM`);
  return Number(match[1]) * 60 + Number(match[2]);
}
