// The fleet at a glance (GET /overview): devices by version and hardware, last seen, the
// active rollouts with their progress, and the latest failures.
import { Link } from "wouter-preact";
import { useMemo } from "preact/hooks";
import type { Overview } from "../api";
import { usePoll } from "../poll";
import { useSession } from "../session";
import { ChartFigure, STATE_COLOURS } from "../components/Chart";
import { ErrorBox, LiveStatus, Loading, Section, StateBadge, StateBar } from "../components/ui";
import { formatAgo, identityText, shortId } from "../format";
import { formatDuration } from "./Rollout";

export function OverviewPage() {
  const { product } = useSession();
  const path = product ? `/overview?product=${product}` : "/overview";
  const { data, error, updatedAt } = usePoll<Overview>(path);

  const versionSeries = useMemo(
    () => [{ label: "devices", values: data?.devices.by_version.map((v) => v.count) ?? [] }],
    [data],
  );
  const hardwareSeries = useMemo(
    () => [{ label: "devices", values: data?.devices.by_hardware.map((v) => v.count) ?? [], colour: "#8250df" }],
    [data],
  );
  const versionLabels = useMemo(() => data?.devices.by_version.map((v) => v.version || "(none)") ?? [], [data]);
  const hardwareLabels = useMemo(() => data?.devices.by_hardware.map((v) => v.hardware || "(none)") ?? [], [data]);

  return (
    <>
      <h1>Overview</h1>
      <LiveStatus updatedAt={updatedAt} error={error} />
      {!data && !error && <Loading what="the overview" />}
      {!data && <ErrorBox error={error} />}
      {data && (
        <>
          <div class="tiles">
            <Tile label="Devices" value={data.devices.total} />
            <Tile label="Seen in the last hour" value={data.devices.last_seen.last_hour} />
            <Tile label="Seen in the last day" value={data.devices.last_seen.last_day} />
            <Tile
              label={`Overdue (not seen for ${formatDuration(data.devices.last_seen.overdue_after_seconds)})`}
              value={data.devices.last_seen.overdue}
              warn={data.devices.last_seen.overdue > 0}
            />
          </div>
          <div class="grid2">
            <Section title="Devices by version">
              {versionLabels.length === 0 ? (
                <p class="muted">No devices yet.</p>
              ) : (
                <ChartFigure title="Devices by version" kind="bar" labels={versionLabels} series={versionSeries} />
              )}
            </Section>
            <Section title="Devices by hardware">
              {hardwareLabels.length === 0 ? (
                <p class="muted">No devices yet.</p>
              ) : (
                <ChartFigure title="Devices by hardware" kind="bar" labels={hardwareLabels} series={hardwareSeries} />
              )}
            </Section>
          </div>
          <Section title="Devices by rollout state">
            <ul class="legend">
              {data.devices.by_rollout_state.map((s) => (
                <li key={s.state}>
                  <span class="swatch" style={{ background: STATE_COLOURS[s.state] ?? "#999" }} />
                  <Link href={`/devices?rollout_state=${s.state}`}>
                    {s.state === "none" ? "in no rollout" : s.state}: {s.count}
                  </Link>
                </li>
              ))}
            </ul>
          </Section>
          <Section title="Active and scheduled rollouts">
            {data.rollouts.length === 0 ? (
              <p class="muted">No rollout is running or scheduled.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Rollout</th>
                    <th scope="col">State</th>
                    <th scope="col">Progress</th>
                    <th scope="col">Why it waits</th>
                  </tr>
                </thead>
                <tbody>
                  {data.rollouts.map((r) => (
                    <tr key={r.id}>
                      <td>
                        <Link href={`/rollouts/${r.id}`}>{r.name || `Rollout ${r.id}`}</Link>
                      </td>
                      <td>
                        <StateBadge state={r.state} />
                      </td>
                      <td class="wide">
                        <StateBar states={r.statistics.states} total={r.statistics.total} label={`Rollout ${r.id}`} />
                        <span class="muted small">
                          {r.statistics.states.updated?.count ?? 0} / {r.statistics.total} updated
                        </span>
                      </td>
                      <td>{r.hold_reason ?? "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
          <Section title="Latest failures">
            {data.latest_failures.length === 0 ? (
              <p class="muted">No failure reported.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Device</th>
                    <th scope="col">Package</th>
                    <th scope="col">During</th>
                    <th scope="col">Error</th>
                  </tr>
                </thead>
                <tbody>
                  {data.latest_failures.map((f, i) => (
                    <tr key={`${f.device_id}-${f.at}-${i}`}>
                      <td>{formatAgo(f.at)}</td>
                      <td>
                        <Link href={`/devices/${f.device_id}`}>{identityText(f.identity) || `#${f.device_id}`}</Link>
                      </td>
                      <td>
                        <Link href={`/packages/${f.package}`}>{shortId(f.package)}</Link>
                      </td>
                      <td>{f.previous_state}</td>
                      <td class="error-text">{f.error_message}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
        </>
      )}
    </>
  );
}

function Tile({ label, value, warn }: { label: string; value: number; warn?: boolean }) {
  return (
    <div class={`tile ${warn ? "warn" : ""}`}>
      <span class="tile-value">{value}</span>
      <span class="tile-label">{label}</span>
    </div>
  );
}
