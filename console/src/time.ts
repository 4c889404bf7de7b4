// Instants shown and chosen in the customer's IANA zone, with the browser's Intl only.
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";

export { timestampDate, timestampFromDate };

/** The zone's offset from UTC at `instant`, in minutes. */
function offsetMinutes(instant: Date, zone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return Math.round((wall - instant.getTime()) / 60000);
}

/** The instant of wall-clock midnight starting `isoDate` (YYYY-MM-DD) in `zone`. */
export function zoneMidnight(isoDate: string, zone: string): Date {
  return zoneInstant(isoDate, "00:00", zone);
}

/** The instant of wall-clock `hhmm` (HH:MM) on `isoDate` in `zone` (a time a DST gap skips: just after it). */
export function zoneInstant(isoDate: string, hhmm: string, zone: string): Date {
  const [y, m, d] = isoDate.split("-").map(Number);
  const [hour, minute] = hhmm.split(":").map(Number);
  const guess = Date.UTC(y, m - 1, d, hour, minute);
  let instant = new Date(guess - offsetMinutes(new Date(guess), zone) * 60000);
  // Once more at the instant found: the offset may differ there (a DST change near midnight).
  instant = new Date(guess - offsetMinutes(instant, zone) * 60000);
  return instant;
}

/** YYYY-MM-DD of `isoDate` plus `days`. */
export function addDays(isoDate: string, days: number): string {
  const [y, m, d] = isoDate.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** The Monday of the week holding `instant`, as YYYY-MM-DD in `zone`. */
export function mondayOf(instant: Date, zone: string): string {
  const date = localDate(instant, zone);
  const weekday = new Date(`${date}T00:00:00Z`).getUTCDay(); // 0 = Sunday
  return addDays(date, weekday === 0 ? -6 : 1 - weekday);
}

export function localDate(instant: Date, zone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(instant);
}

export function localTime(instant: Date, zone: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    .format(instant);
}

export function dayHeading(isoDate: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", weekday: "short", day: "numeric", month: "short" })
    .format(new Date(`${isoDate}T00:00:00Z`));
}

export function when(ts: Timestamp | undefined, zone: string): string {
  if (!ts) return "";
  const instant = timestampDate(ts);
  return `${dayHeading(localDate(instant, zone))} ${localTime(instant, zone)}`;
}

export function isZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}
