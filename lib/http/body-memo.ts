/**
 * Per caller, the last request body (its raw text) and what it validated to.
 * A caller that sends the same bytes again gets the same object back without
 * JSON.parse or schema validation: the same text through the same schema
 * gives the same result. On the agent channel a host's heartbeat is the same
 * body beat after beat until something on the host changes (bench/fleet
 * profiles: parsing and validating an 8-GPU inventory was about a tenth of
 * the control plane's CPU per heartbeat). Callers downstream can tell an
 * unchanged body by identity (`===`); the object is frozen so that no caller
 * can change what the next one gets.
 *
 * Bounded: the oldest caller is forgotten when `maxEntries` is reached
 * (a forgotten caller costs one parse, nothing else).
 */
export type BodyMemo = {
  get(key: string, text: string): unknown;
  set(key: string, text: string, value: unknown): void;
  size(): number;
};

export function createBodyMemo(maxEntries: number): BodyMemo {
  const entries = new Map<string, { text: string; value: unknown }>();
  return {
    get(key, text) {
      const entry = entries.get(key);
      return entry !== undefined && entry.text === text ? entry.value : undefined;
    },
    set(key, text, value) {
      entries.delete(key);
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(key, { text, value: deepFreeze(value) });
    },
    size: () => entries.size,
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
