// One device: who it is and what it runs (GET /devices/{id}), the rollout holding it, and its
// history (GET /devices/{id}/history): the versions it ran, the rollouts it was part of and
// the timeline of its reports with their errors and log excerpts, each with older pages.
import { Link } from "wouter-preact";
import { useState } from "preact/hooks";
import { apiGet, type Device, type DeviceHistory } from "../api";
import { usePoll } from "../poll";
import { ErrorBox, KeyValues, LiveStatus, Loading, Section, StateBadge } from "../components/ui";
import { formatAgo, formatTime, shortId } from "../format";

function Values({ values }: { values: Record<string, unknown> }) {
  const entries = Object.entries(values ?? {});
  if (entries.length === 0) return <p class="muted">None.</p>;
  return (
    <KeyValues
      rows={entries.map(([key, value]) => [key, Array.isArray(value) ? value.join(", ") : String(value)])}
    />
  );
}

type HistorySection = "reports" | "versions" | "rollouts";

export function DevicePage({ id }: { id: string }) {
  const base = `/devices/${encodeURIComponent(id)}`;
  const { data: device, error, updatedAt } = usePoll<Device>(base);
  const { data: history, error: historyError } = usePoll<DeviceHistory>(`${base}/history`);
  // Older pages, fetched on request and kept below the live first page.
  const [older, setOlder] = useState<Partial<DeviceHistory>>({});
  const [olderError, setOlderError] = useState<string | null>(null);

  if (!device) {
    return (
      <>
        <h1>Device {id}</h1>
        {error ? <ErrorBox error={error} /> : <Loading what="the device" />}
      </>
    );
  }
  const rows = <K extends HistorySection>(section: K): DeviceHistory[K] =>
    [...(history?.[section] ?? []), ...(older[section] ?? [])] as DeviceHistory[K];
  const next = (section: HistorySection): number | null => {
    const cursor = `${section}_before` as const;
    if (older[section] !== undefined) return older.next?.[cursor] ?? null;
    return history?.next?.[cursor] ?? null;
  };
  const loadOlder = async (section: HistorySection) => {
    const before = next(section);
    if (before === null) return;
    try {
      const page = await apiGet<DeviceHistory>(`${base}/history?${section}_before=${before}`);
      setOlder({
        ...older,
        [section]: [...(older[section] ?? []), ...(page[section] ?? [])],
        next: { ...older.next, [`${section}_before`]: page.next?.[`${section}_before`] ?? null },
      } as Partial<DeviceHistory>);
    } catch (e) {
      setOlderError(e instanceof Error ? e.message : String(e));
    }
  };
  const OlderButton = ({ section, label }: { section: HistorySection; label: string }) =>
    next(section) === null ? null : (
      <button type="button" class="secondary" onClick={() => void loadOlder(section)}>
        {label}
      </button>
    );

  const rollout = device.rollout;
  return (
    <>
      <h1>
        Device #{device.id} <span class="muted">{String(device.identity?.serial ?? "")}</span>
      </h1>
      <LiveStatus updatedAt={updatedAt} error={error} />
      <div class="grid2">
        <Section title="Device">
          <KeyValues
            rows={[
              ["Product", shortId(device.product)],
              ["Hardware", device.hardware],
              ["Version", device.version],
              ["Last seen", `${formatAgo(device.last_seen)} (${formatTime(device.last_seen)})`],
              ["First seen", formatTime(device.created_at)],
              ["Authentication", <StateBadge state={device.auth_state} />],
            ]}
          />
        </Section>
        <Section title="Current rollout">
          {!rollout ? (
            <p class="muted">In no active rollout.</p>
          ) : (
            <KeyValues
              rows={[
                ["Rollout", <Link href={`/rollouts/${rollout.id}`}>{rollout.name || `Rollout ${rollout.id}`}</Link>],
                ["Rollout state", rollout.rollout_state ?? ""],
                ["Package", rollout.package ? <Link href={`/packages/${rollout.package}`}>{shortId(rollout.package)}</Link> : ""],
                ["Device's stage", `${rollout.stage + 1}`],
                ["Device's state", <StateBadge state={rollout.state} />],
                ["Error", <span class="error-text">{rollout.error_message || "—"}</span>],
                ["Updated", formatAgo(rollout.updated_at)],
              ]}
            />
          )}
        </Section>
        <Section title="Identity">
          <Values values={device.identity} />
        </Section>
        <Section title="Attributes">
          <Values values={device.attributes} />
        </Section>
      </div>
      <ErrorBox error={historyError ?? olderError} />
      <div class="grid2">
        <Section title="Versions">
          {rows("versions").length === 0 ? (
            <p class="muted">No version recorded.</p>
          ) : (
            <ol class="timeline">
              {rows("versions").map((v) => (
                <li key={v.id}>
                  <strong>{v.version}</strong>{" "}
                  <span class="muted">{v.since ? `since ${formatTime(v.since)}` : "since before the history was kept"}</span>
                </li>
              ))}
            </ol>
          )}
          <OlderButton section="versions" label="Older versions" />
        </Section>
        <Section title="Rollouts">
          {rows("rollouts").length === 0 ? (
            <p class="muted">In no rollout yet.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Rollout</th>
                  <th scope="col">Version</th>
                  <th scope="col">Device's state</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {rows("rollouts").map((r) => (
                  <tr key={r.rollout_id}>
                    <td>
                      <Link href={`/rollouts/${r.rollout_id}`}>{r.name || `Rollout ${r.rollout_id}`}</Link>{" "}
                      <span class="muted small">({r.rollout_state}, stage {r.stage + 1})</span>
                    </td>
                    <td>{r.package_version}</td>
                    <td>
                      <StateBadge state={r.state} />
                      {r.retries > 0 && <span class="muted small"> {r.retries} retries</span>}
                    </td>
                    <td class="error-text">{r.error_message || "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <OlderButton section="rollouts" label="Older rollouts" />
        </Section>
      </div>
      <Section title="Reports">
        {rows("reports").length === 0 ? (
          <p class="muted">No report yet.</p>
        ) : (
          <ol class="timeline">
            {rows("reports").map((r) => (
              <li key={r.id} class={r.error_message ? "failed" : ""}>
                <time dateTime={r.created_at}>{formatTime(r.created_at)}</time> <StateBadge state={r.status} />{" "}
                <span class="muted">
                  package <Link href={`/packages/${r.package_uid}`}>{shortId(r.package_uid)}</Link>
                  {r.previous_state ? `, after ${r.previous_state}` : ""}
                </span>
                {r.error_message && <p class="error-text">{r.error_message}</p>}
                {r.log_excerpt && (
                  <details>
                    <summary>Log{r.log_truncated ? " (its end)" : ""}</summary>
                    <pre>{r.log_excerpt}</pre>
                  </details>
                )}
              </li>
            ))}
          </ol>
        )}
        <OlderButton section="reports" label="Older reports" />
      </Section>
    </>
  );
}
