/** A freeze window as environments.freeze_windows holds it (absolute or recurring). */
export interface FreezeWindowSpec {
  start?: string;
  end?: string;
  days?: string[];
  startTime?: string;
  endTime?: string;
  reason?: string;
}

/**
 * The one freeze check the runner uses: the window of `windows` active at `now` (recurring ones
 * read in `timeZone`, an IANA name), or null. Implemented by the promotions domain as
 * `activeFreezeWindow` in src/environments/freeze-windows.ts; injected so the runner has no
 * evaluator of its own.
 */
export type ActiveFreezeWindow = (windows: FreezeWindowSpec[], timeZone: string, now: Date) => FreezeWindowSpec | null;
