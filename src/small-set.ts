/**
 * A set that is one bare value while it holds one, and a Set from the second on. An identity,
 * an agent or a socket almost always holds exactly one connection, subscription or key, and
 * an empty Set costs 152 bytes (Node 20): with five per subscribed agent that was a fifth of
 * the broker's heap per agent (issue 13). Absent (undefined) is empty. Values must not be Sets.
 */
export type SmallSet<T> = T | Set<T>;

const isSet = <T>(slot: SmallSet<T>): slot is Set<T> => slot instanceof Set;

export function added<T>(slot: SmallSet<T> | undefined, value: T): SmallSet<T> {
  if (slot === undefined || slot === value) return value;
  if (isSet(slot)) return slot.add(value);
  return new Set([slot, value]);
}

/** The set without `value`: undefined once empty, the bare value again once one is left. */
export function removed<T>(slot: SmallSet<T> | undefined, value: T): SmallSet<T> | undefined {
  if (slot === undefined || slot === value) return undefined;
  if (!isSet(slot) || !slot.delete(value)) return slot;
  return slot.size === 1 ? (slot.values().next().value as T) : slot;
}

export function contains<T>(slot: SmallSet<T> | undefined, value: T): boolean {
  if (slot === undefined) return false;
  return isSet(slot) ? slot.has(value) : slot === value;
}

export function sizeOf<T>(slot: SmallSet<T> | undefined): number {
  if (slot === undefined) return 0;
  return isSet(slot) ? slot.size : 1;
}

/** Calls `fn` for each value, allocating nothing (the fan-out's loop). */
export function forEachOf<T>(slot: SmallSet<T> | undefined, fn: (value: T) => void): void {
  if (slot === undefined) return;
  if (isSet(slot)) for (const value of slot) fn(value);
  else fn(slot);
}

export function valuesOf<T>(slot: SmallSet<T> | undefined): readonly T[] {
  if (slot === undefined) return [];
  return isSet(slot) ? [...slot] : [slot];
}

/** `map`'s set under `key` with `value` added. */
export function addTo<K, T>(map: Map<K, SmallSet<T>>, key: K, value: T): void {
  map.set(key, added(map.get(key), value));
}

/** Removes `value` from `map`'s set under `key` (and the key once empty); false when it was not there. */
export function removeFrom<K, T>(map: Map<K, SmallSet<T>>, key: K, value: T): boolean {
  const slot = map.get(key);
  if (!contains(slot, value)) return false;
  const left = removed(slot, value);
  if (left === undefined) map.delete(key);
  else if (left !== slot) map.set(key, left);
  return true;
}
