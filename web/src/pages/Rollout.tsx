// One rollout, live: why it waits (hold_reason), progress per stage, progress over time (the
// server's history of the devices that ended), its failed devices with their errors, and the
// controls the user may use.
import { Link } from "wouter-preact";
import { useMemo, useState } from "preact/hooks";
import { format, isSameDay } from "date-fns";
import { apiSend, type Rollout, type RolloutDevice, type RolloutProgress } from "../api";
import { usePoll } from "../poll";
import { useSession } from "../session";
import { ChartFigure, STATE_COLOURS } from "../components/Chart";
import { DEVICE_STATES, ErrorBox, KeyValues, LiveStatus, Loading, Section, StateBadge, StateBar } from "../components/ui";
import { formatAgo, formatTime, identityText, parseTime, shortId } from "../format";

export function formatDuration(seconds: number): string {
  if (seconds % 86400 === 0 && seconds >= 86400) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0 && seconds >= 3600) return `${seconds / 3600} h`;
  if (seconds % 60 === 0 && seconds >= 60) return `${seconds / 60} min`;
  return `${seconds} s`;
}

const ACTIONS: { action: string; label: string; when: string[] }[] = [
  { action: "start", label: "Start now", when: ["scheduled"] },
  { action: "pause", label: "Pause", when: ["running", "scheduled"] },
  { action: "resume", label: "Resume", when: ["paused"] },
  { action: "advance", label: "Advance to the next stage", when: ["running"] },
  { action: "stop", label: "Stop", when: ["running", "paused", "scheduled"] },
];

export function RolloutPage({ id }: { id: string }) {
  const { can } = useSession();
  const { data: rollout, error, updatedAt, reload } = usePoll<Rollout>(`/rollouts/${encodeURIComponent(id)}`);
  const failed = usePoll<{ devices: RolloutDevice[] }>(`/rollouts/${encodeURIComponent(id)}/devices?state=failed&limit=100`);
  const [stateFilter, setStateFilter] = useState("");
  const members = usePoll<{ devices: RolloutDevice[]; next_after?: number }>(
    `/rollouts/${encodeURIComponent(id)}/devices?limit=100${stateFilter ? `&state=${stateFilter}` : ""}`,
  );
  const [actionError, setActionError] = useState<string | null>(null);
  const [actionDone, setActionDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const progress = usePoll<RolloutProgress>(`/rollouts/${encodeURIComponent(id)}/progress`);
  const startedAt = rollout?.started_at ?? "";
  const chart = useMemo(() => progressChart(progress.data, startedAt), [progress.data, startedAt]);

  // start, pause, resume, advance, stop, or retry (failed devices: all, or those listed).
  const act = async (action: string, devices?: number[]) => {
    if (action === "stop" && !window.confirm("Stop this rollout? It is archived and cannot be resumed.")) return;
    setBusy(true);
    setActionError(null);
    setActionDone(null);
    try {
      const changed = await apiSend<Rollout & { retried_devices?: number[] }>(
        "POST",
        `/rollouts/${encodeURIComponent(id)}/${action}`,
        devices ? { devices } : undefined,
      );
      setActionDone(
        action === "retry"
          ? `Retried ${changed.retried_devices?.length ?? 0} failed device(s): they get the package again at their next probe.`
          : `Done: ${action}. The rollout is now ${changed.state}.`,
      );
      reload();
      failed.reload();
      members.reload();
      progress.reload();
    } catch (e) {
      setActionError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  if (!rollout) {
    return (
      <>
        <h1>Rollout {id}</h1>
        {error ? <ErrorBox error={error} /> : <Loading what="the rollout" />}
      </>
    );
  }
  const stats = rollout.statistics;
  const stages = rollout.stages ?? [];
  const actions = ACTIONS.filter((a) => a.when.includes(rollout.state));
  // Failed devices get a new attempt while the rollout holds them (running or paused).
  const retryable = (rollout.state === "running" || rollout.state === "paused") && (stats.states.failed?.count ?? 0) > 0;
  const mayControl = can("rollouts:write");
  return (
    <>
      <div class="title-row">
        <h1>{rollout.name || `Rollout ${rollout.id}`}</h1>
        <StateBadge state={rollout.state} />
      </div>
      <LiveStatus updatedAt={updatedAt} error={error} />
      <div role="status" aria-live="polite" data-testid="hold-reason" class={rollout.hold_reason ? "hold" : "hold none"}>
        {rollout.hold_reason
          ? `Waiting: ${rollout.hold_reason}`
          : rollout.archived
            ? `This rollout is ${rollout.state}${rollout.reason ? `: ${rollout.reason}` : ""}.`
            : "Nothing holds this rollout."}
      </div>
      {mayControl && (actions.length > 0 || retryable) && (
        <div class="actions" role="group" aria-label="Rollout controls">
          {actions.map((a) => (
            <button key={a.action} type="button" disabled={busy} class={a.action === "stop" ? "danger" : ""}
              onClick={() => void act(a.action)}>
              {a.label}
            </button>
          ))}
          {retryable && (
            <button type="button" class="secondary" disabled={busy} onClick={() => void act("retry")}>
              Retry the failed devices
            </button>
          )}
        </div>
      )}
      <div aria-live="polite">{actionDone && <p class="ok">{actionDone}</p>}</div>
      <ErrorBox error={actionError} />
      <div class="grid2">
        <Section title="Progress">
          <StateBar states={stats.states} total={stats.total} label="All stages" />
          <ul class="legend" data-testid="rollout-counts">
            {DEVICE_STATES.map((s) => (
              <li key={s}>
                <span class="swatch" style={{ background: STATE_COLOURS[s] }} />
                {s}: <span data-testid={`count-${s}`}>{stats.states[s]?.count ?? 0}</span>
              </li>
            ))}
          </ul>
          <p>
            {stats.total} devices selected, {stats.attempted} attempted.
          </p>
          <h3>Stages</h3>
          <ol class="stages">
            {stats.stages.map((stage, i) => {
              const plan = stages[i];
              return (
                <li key={i} class={i === rollout.current_stage ? "current" : ""}>
                  <div class="stage-head">
                    <strong>Stage {i + 1}</strong>
                    {plan && (
                      <span class="muted small">
                        {" "}
                        up to {plan.percent}% · {plan.success_percent ?? 100}% success needed
                        {plan.soak_seconds ? ` · soak ${formatDuration(plan.soak_seconds)}` : ""}
                        {plan.manual ? " · waits for advance" : ""}
                      </span>
                    )}
                    {i === rollout.current_stage && <span class="badge">current</span>}
                  </div>
                  <StateBar states={stage.states} total={stage.total} label={`Stage ${i + 1}`} />
                  <span class="muted small">
                    {stage.states.updated?.count ?? 0} of {stage.total} updated, {stage.states.failed?.count ?? 0} failed
                  </span>
                </li>
              );
            })}
          </ol>
        </Section>
        <Section title="Plan">
          <KeyValues
            rows={[
              ["Package", <Link href={`/packages/${rollout.package}`}>{shortId(rollout.package, 16)}</Link>],
              ["Selection", selectionText(rollout)],
              ["Rate", rollout.rate_per_hour ? `${rollout.rate_per_hour} devices per hour` : "no limit"],
              ["Maintenance window", rollout.maintenance_window ? `${rollout.maintenance_window.start}–${rollout.maintenance_window.end} UTC` : "any time"],
              ["Failure threshold", thresholdText(rollout)],
              ["Start", rollout.start_at ? formatTime(rollout.start_at) : "at once"],
              ["Created", formatTime(rollout.created_at)],
              ["Started", formatTime(rollout.started_at)],
              ["Finished", formatTime(rollout.finished_at)],
              ["Reason", rollout.reason || "—"],
              ...(rollout.paused_at
                ? ([["Paused", `${rollout.paused_by ? `by ${rollout.paused_by} ` : "by the server "}at ${formatTime(rollout.paused_at)}`]] as [string, string][])
                : []),
            ]}
          />
        </Section>
      </div>
      <Section title="Progress over time">
        <ErrorBox error={progress.error} />
        {chart ? (
          <ChartFigure title="Devices over time" kind="line" labels={chart.labels} series={chart.series} />
        ) : (
          progress.data && <p class="muted">No device has updated or failed yet.</p>
        )}
      </Section>
      <Section title="Failed devices">
        <ErrorBox error={failed.error} />
        {failed.data && failed.data.devices.length === 0 && <p class="muted">No device failed.</p>}
        {failed.data && failed.data.devices.length > 0 && (
          <table data-testid="failed-devices">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Hardware</th>
                <th scope="col">Version</th>
                <th scope="col">Stage</th>
                <th scope="col">Error</th>
                <th scope="col">When</th>
                {mayControl && retryable && (
                  <th scope="col">
                    <span class="sr-only">Retry</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {failed.data.devices.map((d) => (
                <tr key={d.device_id}>
                  <td>
                    <Link href={`/devices/${d.device_id}`}>{identityText(d.identity) || `#${d.device_id}`}</Link>
                  </td>
                  <td>{d.hardware}</td>
                  <td>{d.version}</td>
                  <td>{d.stage + 1}</td>
                  <td class="error-text">
                    {d.error_message || "—"}
                    {(d.retries ?? 0) > 0 && <span class="muted small"> (after {d.retries} retries)</span>}
                  </td>
                  <td>{formatAgo(d.updated_at)}</td>
                  {mayControl && retryable && (
                    <td>
                      <button type="button" class="secondary" disabled={busy} onClick={() => void act("retry", [d.device_id])}>
                        Retry<span class="sr-only"> device {d.device_id}</span>
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Devices">
        <label>
          Show{" "}
          <select value={stateFilter} onChange={(e) => setStateFilter((e.target as HTMLSelectElement).value)}>
            <option value="">every state</option>
            {DEVICE_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        {members.data && (
          <table>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Stage</th>
                <th scope="col">State</th>
                <th scope="col">Version</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {members.data.devices.map((d) => (
                <tr key={d.device_id}>
                  <td>
                    <Link href={`/devices/${d.device_id}`}>{identityText(d.identity) || `#${d.device_id}`}</Link>
                  </td>
                  <td>{d.stage + 1}</td>
                  <td>
                    <StateBadge state={d.state} />
                  </td>
                  <td>{d.version}</td>
                  <td>{formatAgo(d.last_seen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {members.data?.next_after !== undefined && <p class="muted small">The first 100 devices are shown.</p>}
      </Section>
    </>
  );
}

// The devices updated and failed in all: from zero at the rollout's start (or from the counts
// before the first minute listed, when older minutes were left out), then at the end of each
// minute in which some ended. Null when none has ended yet.
function progressChart(progress: RolloutProgress | null, startedAt: string) {
  if (!progress || progress.points.length === 0) return null;
  const minute = (at: string) => parseTime(at)?.getTime() ?? 0;
  const firstMinute = minute(progress.points[0].at);
  const whole = progress.earlier.updated === 0 && progress.earlier.failed === 0;
  const start = whole ? Math.min(parseTime(startedAt)?.getTime() ?? firstMinute, firstMinute + 59_999) : firstMinute;
  const points = [
    { at: new Date(start), updated: progress.earlier.updated, failed: progress.earlier.failed },
    ...progress.points.map((p) => ({ at: new Date(minute(p.at) + 60_000), updated: p.updated_total, failed: p.failed_total })),
  ];
  const oneDay = isSameDay(points[0].at, points[points.length - 1].at);
  return {
    labels: points.map((p) => format(p.at, oneDay ? "HH:mm" : "MMM d HH:mm")),
    series: [
      { label: "updated", values: points.map((p) => p.updated), colour: STATE_COLOURS.updated },
      { label: "failed", values: points.map((p) => p.failed), colour: STATE_COLOURS.failed },
    ],
  };
}

function selectionText(rollout: Rollout): string {
  if (rollout.devices && rollout.devices.length > 0) return `devices ${rollout.devices.join(", ")}`;
  const filter = (rollout.filter ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (Array.isArray(value) && value.length > 0) parts.push(`${key}: ${value.join(", ")}`);
    else if (value && typeof value === "object" && Object.keys(value).length > 0) {
      parts.push(`${key}: ${identityText(value as Record<string, unknown>)}`);
    }
  }
  return parts.length > 0 ? parts.join("; ") : "every device of the product";
}

function thresholdText(rollout: Rollout): string {
  const t = rollout.failure_threshold;
  if (!t || (t.percent === undefined && t.count === undefined)) return "none";
  const limit = t.percent !== undefined ? `${t.percent}% of the devices attempted` : `${t.count} devices`;
  return `pause when failures exceed ${limit} (after ${t.min_attempted ?? 1} attempted)`;
}
