import { describe, expect, it } from "vitest";
import { activeFreezeWindow, type FreezeWindow } from "./freeze-windows.js";

const at = (iso: string) => new Date(iso);
const active = (windows: FreezeWindow[], zone: string, iso: string) => activeFreezeWindow(windows, zone, at(iso));

describe("absolute freeze windows", () => {
  const xmas: FreezeWindow = { start: "2026-12-24T00:00:00+01:00", end: "2026-12-27T00:00:00+01:00", reason: "holidays" };

  it("contains its start and not its end, read as instants whatever their offset", () => {
    expect(active([xmas], "UTC", "2026-12-23T23:00:00Z")).toBe(xmas);
    expect(active([xmas], "UTC", "2026-12-23T22:59:59.999Z")).toBeNull();
    expect(active([xmas], "UTC", "2026-12-26T22:59:59Z")).toBe(xmas);
    expect(active([xmas], "UTC", "2026-12-26T23:00:00Z")).toBeNull();
  });

  it("does not depend on the environment's zone", () => {
    expect(active([xmas], "Pacific/Auckland", "2026-12-25T12:00:00Z")).toBe(xmas);
    expect(active([xmas], "America/Los_Angeles", "2026-12-28T12:00:00Z")).toBeNull();
  });

  it("accepts Date values as a parsed row would hold them", () => {
    const w = { start: at("2026-01-01T00:00:00Z"), end: at("2026-01-02T00:00:00Z") };
    expect(active([w], "UTC", "2026-01-01T12:00:00Z")).toBe(w);
  });
});

describe("recurring freeze windows", () => {
  // 2026-01-05 is a Monday.
  const office: FreezeWindow = { days: ["MON"], startTime: "09:00", endTime: "17:00" };

  it("holds from startTime up to, not including, endTime on its days", () => {
    expect(active([office], "UTC", "2026-01-05T09:00:00Z")).toBe(office);
    expect(active([office], "UTC", "2026-01-05T16:59:59Z")).toBe(office);
    expect(active([office], "UTC", "2026-01-05T17:00:00Z")).toBeNull();
    expect(active([office], "UTC", "2026-01-05T08:59:00Z")).toBeNull();
    expect(active([office], "UTC", "2026-01-06T10:00:00Z")).toBeNull();
  });

  it("reads the time in the environment's zone, half-hour offsets included", () => {
    const evening: FreezeWindow = { days: ["FRI"], startTime: "18:00", endTime: "23:00" };
    // Asia/Kolkata is UTC+05:30: 18:00 there is 12:30Z.
    expect(active([evening], "Asia/Kolkata", "2026-12-04T12:30:00Z")).toBe(evening);
    expect(active([evening], "Asia/Kolkata", "2026-12-04T12:29:00Z")).toBeNull();
    expect(active([evening], "UTC", "2026-12-04T12:30:00Z")).toBeNull();
  });

  it("takes the weekday from the zone, not from UTC, across the day boundary", () => {
    const friday: FreezeWindow = { days: ["FRI"], startTime: "16:00", endTime: "18:00" };
    // Saturday 01:00Z is Friday 17:00 in Los Angeles (PST, UTC-8).
    expect(active([friday], "America/Los_Angeles", "2026-12-05T01:00:00Z")).toBe(friday);
    expect(active([friday], "UTC", "2026-12-05T01:00:00Z")).toBeNull();
    // Friday 20:00Z is already Saturday 09:00 in Tokyo.
    expect(active([friday], "Asia/Tokyo", "2026-12-04T07:30:00Z")).toBe(friday);
    expect(active([friday], "Asia/Tokyo", "2026-12-04T20:00:00Z")).toBeNull();
  });

  it("runs past midnight when endTime is at or before startTime", () => {
    const night: FreezeWindow = { days: ["FRI"], startTime: "22:00", endTime: "06:00" };
    expect(active([night], "UTC", "2026-12-04T21:59:00Z")).toBeNull();
    expect(active([night], "UTC", "2026-12-04T22:00:00Z")).toBe(night);
    expect(active([night], "UTC", "2026-12-05T05:59:00Z")).toBe(night);
    expect(active([night], "UTC", "2026-12-05T06:00:00Z")).toBeNull();
    // The morning after a day not listed (Saturday night into Sunday) is not frozen.
    expect(active([night], "UTC", "2026-12-06T01:00:00Z")).toBeNull();
    // Thursday's early morning follows Wednesday, which is not listed either.
    expect(active([night], "UTC", "2026-12-03T01:00:00Z")).toBeNull();
  });

  it("wraps from Sunday night into Monday", () => {
    const sunday: FreezeWindow = { days: ["SUN"], startTime: "22:00", endTime: "02:00" };
    expect(active([sunday], "UTC", "2026-01-05T01:30:00Z")).toBe(sunday);
    expect(active([sunday], "UTC", "2026-01-05T02:00:00Z")).toBeNull();
  });

  it("lasts a whole day when endTime equals startTime", () => {
    const day: FreezeWindow = { days: ["MON"], startTime: "12:00", endTime: "12:00" };
    expect(active([day], "UTC", "2026-01-05T12:00:00Z")).toBe(day);
    expect(active([day], "UTC", "2026-01-06T11:59:00Z")).toBe(day);
    expect(active([day], "UTC", "2026-01-06T12:00:00Z")).toBeNull();
    expect(active([day], "UTC", "2026-01-05T11:59:00Z")).toBeNull();
  });

  it("follows daylight saving: the same wall-clock window is another UTC range in summer", () => {
    const night: FreezeWindow = { days: ["MON"], startTime: "22:00", endTime: "06:00" };
    // Oslo is UTC+1 in January, UTC+2 in July.
    expect(active([night], "Europe/Oslo", "2026-01-05T21:00:00Z")).toBe(night);
    expect(active([night], "Europe/Oslo", "2026-01-05T20:30:00Z")).toBeNull();
    expect(active([night], "Europe/Oslo", "2026-07-06T20:00:00Z")).toBe(night);
    expect(active([night], "Europe/Oslo", "2026-07-07T04:00:00Z")).toBeNull();
    expect(active([night], "Europe/Oslo", "2026-07-07T03:59:00Z")).toBe(night);
  });

  it("is shorter on the night the clocks go forward and counts a repeated hour twice when they go back", () => {
    // 2026-03-29 (Sunday) 02:00 CET becomes 03:00 CEST in Oslo: 01:00-04:00 lasts two real hours.
    const spring: FreezeWindow = { days: ["SUN"], startTime: "01:00", endTime: "04:00" };
    expect(active([spring], "Europe/Oslo", "2026-03-28T23:59:00Z")).toBeNull();
    expect(active([spring], "Europe/Oslo", "2026-03-29T00:00:00Z")).toBe(spring);
    expect(active([spring], "Europe/Oslo", "2026-03-29T01:30:00Z")).toBe(spring);
    expect(active([spring], "Europe/Oslo", "2026-03-29T02:00:00Z")).toBeNull();
    // 2026-10-25 (Sunday) 03:00 CEST becomes 02:00 CET: 02:00-02:30 happens twice.
    const autumn: FreezeWindow = { days: ["SUN"], startTime: "02:00", endTime: "02:30" };
    expect(active([autumn], "Europe/Oslo", "2026-10-25T00:15:00Z")).toBe(autumn);
    expect(active([autumn], "Europe/Oslo", "2026-10-25T00:45:00Z")).toBeNull();
    expect(active([autumn], "Europe/Oslo", "2026-10-25T01:15:00Z")).toBe(autumn);
    expect(active([autumn], "Europe/Oslo", "2026-10-25T01:30:00Z")).toBeNull();
  });
});

describe("several windows and bad ones", () => {
  it("answers the first window that holds, and null when none does", () => {
    const a: FreezeWindow = { days: ["TUE"], startTime: "00:00", endTime: "01:00", reason: "a" };
    const b: FreezeWindow = { start: "2026-01-01T00:00:00Z", end: "2027-01-01T00:00:00Z", reason: "b" };
    const c: FreezeWindow = { days: ["MON"], startTime: "00:00", endTime: "23:59", reason: "c" };
    expect(active([a, b, c], "UTC", "2026-01-05T10:00:00Z")).toBe(b);
    expect(active([a, c], "UTC", "2026-01-05T10:00:00Z")).toBe(c);
    expect(active([], "UTC", "2026-01-05T10:00:00Z")).toBeNull();
  });

  it("fails closed on an unknown zone or a malformed window", () => {
    const ok: FreezeWindow = { days: ["MON"], startTime: "09:00", endTime: "10:00" };
    expect(() => active([ok], "Mars/Olympus", "2026-01-05T09:30:00Z")).toThrow(RangeError);
    const bad: FreezeWindow[] = [
      { days: ["MONDAY"], startTime: "09:00", endTime: "10:00" },
      { days: [], startTime: "09:00", endTime: "10:00" },
      { days: ["MON"], startTime: "9:00", endTime: "10:00" },
      { days: ["MON"], startTime: "09:00", endTime: "24:00" },
      { start: "yesterday", end: "2026-01-06T00:00:00Z" },
      { start: "2026-01-06T00:00:00Z", end: "2026-01-05T00:00:00Z" },
      { reason: "neither kind" },
    ];
    for (const w of bad) expect(() => active([w], "UTC", "2026-01-05T09:30:00Z")).toThrow(RangeError);
  });
});
