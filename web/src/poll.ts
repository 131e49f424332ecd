// Live data: a GET repeated every few seconds with If-None-Match, so that an unchanged answer
// costs a 304 and leaves the page as it is.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ConditionalGet } from "./api";

export interface Polled<T> {
  data: T | null;
  error: string | null;
  updatedAt: Date | null; // when the data last changed
  reload: () => void;
}

export const POLL_MS = 3000;

export function usePoll<T>(path: string | null, intervalMs: number = POLL_MS): Polled<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [updatedAt, setUpdatedAt] = useState<Date | null>(null);
  const [generation, setGeneration] = useState(0);
  const getter = useRef<ConditionalGet<T> | null>(null);

  useEffect(() => {
    setData(null);
    setError(null);
    if (path === null) return;
    getter.current = new ConditionalGet<T>(path);
    let stopped = false;
    let timer: number | undefined;
    const tick = async () => {
      try {
        const value = await getter.current!.fetch();
        if (stopped) return;
        if (value !== null) {
          setData(value);
          setUpdatedAt(new Date());
        }
        setError(null);
      } catch (e) {
        if (!stopped) setError(e instanceof Error ? e.message : String(e));
      }
      if (!stopped && intervalMs > 0) timer = window.setTimeout(tick, intervalMs);
    };
    void tick();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [path, intervalMs, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, updatedAt, reload };
}
