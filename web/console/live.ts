import { createContext, useContext, useEffect, useRef } from "react";
import { useSubscription } from "urql";
import type { Session } from "./api.js";

/** The signed-in session's reconnect signal, for views that must re-read what they show. */
export const ReconnectContext = createContext<Session["onReconnect"] | null>(null);

/** Runs the latest `fn` each time the websocket is back after it was lost. */
export function useOnReconnect(fn: () => void): void {
  const onReconnect = useContext(ReconnectContext);
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => onReconnect?.(() => latest.current()), [onReconnect]);
}

/** At most one re-read per this window while changes stream in. */
const REREAD_MS = 300;

/**
 * Re-reads a paged list (`refresh`) when `subscription` says something in it changed. A change
 * can move a row into or out of the filter or page shown, and the order is the broker's, so the
 * page (at most 100 rows) is read again rather than patched; bursts are coalesced.
 */
export function useRereadOn(subscription: string, refresh: () => void): void {
  const latest = useRef(refresh);
  latest.current = refresh;
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  useSubscription({ query: subscription }, () => {
    timer.current ??= window.setTimeout(() => {
      timer.current = undefined;
      latest.current();
    }, REREAD_MS);
    return null;
  });
}
