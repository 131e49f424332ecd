// Times and sizes as people read them (date-fns for the times).
import { formatDistanceToNowStrict, format, parseISO, isValid } from "date-fns";

export function parseTime(text: string | null | undefined): Date | null {
  if (!text) return null;
  const date = parseISO(text);
  return isValid(date) ? date : null;
}

export function formatTime(text: string | null | undefined): string {
  const date = parseTime(text);
  return date ? format(date, "yyyy-MM-dd HH:mm:ss") : "—";
}

export function formatAgo(text: string | null | undefined): string {
  const date = parseTime(text);
  return date ? formatDistanceToNowStrict(date, { addSuffix: true }) : "never";
}

export function formatClock(date: Date | null): string {
  return date ? format(date, "HH:mm:ss") : "—";
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function shortId(uid: string, length = 12): string {
  return uid.length > length ? uid.slice(0, length) + "…" : uid;
}

export function identityText(identity: Record<string, unknown> | string | null | undefined): string {
  if (identity === null || identity === undefined) return "";
  if (typeof identity === "string") return identity;
  return Object.entries(identity)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(",") : String(value)}`)
    .join(" ");
}

// "2026-12-01T02:00" from a datetime-local input, as the API's UTC form.
export function localInputToUtc(value: string): string {
  const date = new Date(value);
  return isValid(date) ? date.toISOString().replace(/\.\d{3}Z$/, "Z") : "";
}
