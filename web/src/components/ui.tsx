// Small pieces the pages share.
import type { ComponentChildren } from "preact";
import type { StateCount } from "../api";
import { STATE_COLOURS } from "./Chart";
import { formatClock } from "../format";

export const DEVICE_STATES = ["pending", "downloading", "installing", "rebooting", "updated", "failed"];

export function ErrorBox({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="muted">Loading {what}…</p>;
}

// "Updated at HH:mm:ss", announced politely when the data changes.
export function LiveStatus({ updatedAt, error }: { updatedAt: Date | null; error: string | null }) {
  return (
    <p class="live" aria-live="polite" data-testid="live-status">
      {error ? `Not updated: ${error}` : `Live · updated ${formatClock(updatedAt)}`}
    </p>
  );
}

// One bar split by device state; the numbers are in its label and its title.
export function StateBar({
  states,
  total,
  label,
}: {
  states: Record<string, StateCount>;
  total: number;
  label: string;
}) {
  const updated = states.updated?.count ?? 0;
  const failed = states.failed?.count ?? 0;
  const text = `${label}: ${updated} of ${total} updated, ${failed} failed`;
  return (
    <div class="statebar" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={total}
      aria-valuenow={updated} aria-valuetext={text} title={text}>
      {total === 0 ? (
        <span class="statebar-empty">no devices</span>
      ) : (
        DEVICE_STATES.filter((s) => (states[s]?.count ?? 0) > 0).map((s) => (
          <span
            key={s}
            class={`statebar-part state-${s}`}
            style={{ width: `${(100 * states[s].count) / total}%`, background: STATE_COLOURS[s] }}
          />
        ))
      )}
    </div>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge badge-${state}`}>{state}</span>;
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  const headingId = id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return (
    <section aria-labelledby={headingId} class="card">
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  );
}

export function KeyValues({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <dl class="kv">
      {rows.map(([key, value]) => (
        <div key={key}>
          <dt>{key}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
