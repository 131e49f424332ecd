// The product's rollouts: the active ones with their progress, and the archived ones.
import { Link } from "wouter-preact";
import { useState } from "preact/hooks";
import type { Rollout } from "../api";
import { usePoll } from "../poll";
import { useSession } from "../session";
import { ErrorBox, LiveStatus, StateBadge, StateBar } from "../components/ui";
import { formatAgo, shortId } from "../format";

export function RolloutsPage() {
  const { product, can } = useSession();
  const [archived, setArchived] = useState(false);
  const { data, error, updatedAt } = usePoll<{ rollouts: Rollout[] }>(
    product ? `/products/${product}/rollouts${archived ? "?archived=true" : ""}` : null,
  );
  return (
    <>
      <div class="title-row">
        <h1>Rollouts</h1>
        {can("rollouts:write") && product && (
          <Link class="button" href="/rollouts/new">
            New rollout
          </Link>
        )}
      </div>
      <div role="group" aria-label="Which rollouts" class="tabs">
        <button type="button" class={archived ? "secondary" : ""} aria-pressed={!archived} onClick={() => setArchived(false)}>
          Active
        </button>
        <button type="button" class={archived ? "" : "secondary"} aria-pressed={archived} onClick={() => setArchived(true)}>
          Archived
        </button>
      </div>
      <LiveStatus updatedAt={updatedAt} error={error} />
      <ErrorBox error={error} />
      {data && (
        <table>
          <thead>
            <tr>
              <th scope="col">Rollout</th>
              <th scope="col">Package</th>
              <th scope="col">State</th>
              <th scope="col">Stage</th>
              <th scope="col">Progress</th>
              <th scope="col">Why it waits</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {data.rollouts.length === 0 && (
              <tr>
                <td colSpan={7} class="muted">
                  No rollout.
                </td>
              </tr>
            )}
            {data.rollouts.map((r) => (
              <tr key={r.id}>
                <td>
                  <Link href={`/rollouts/${r.id}`}>{r.name || `Rollout ${r.id}`}</Link>
                </td>
                <td>
                  <Link href={`/packages/${r.package}`}>{shortId(r.package)}</Link>
                </td>
                <td>
                  <StateBadge state={r.state} />
                </td>
                <td>
                  {r.current_stage + 1} of {r.stages?.length ?? 1}
                </td>
                <td class="wide">
                  <StateBar states={r.statistics.states} total={r.statistics.total} label={`Rollout ${r.id}`} />
                </td>
                <td>{r.hold_reason ?? "—"}</td>
                <td>{formatAgo(r.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
