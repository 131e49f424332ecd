// The audit log, newest first, with its filters, older pages and the chain check.
import { useEffect, useState } from "preact/hooks";
import { apiGet, type AuditRow } from "../../api";
import { ErrorBox, Section } from "../../components/ui";
import { formatTime, localInputToUtc } from "../../format";
import { messageOf } from "./common";

export function Audit() {
  const [rows, setRows] = useState<AuditRow[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filters, setFilters] = useState({ actor: "", action: "", since: "", until: "" });
  const [verdict, setVerdict] = useState<string | null>(null);
  const query = (before: number | null) => {
    const q = new URLSearchParams({ limit: "50" });
    if (filters.actor) q.set("actor", filters.actor);
    if (filters.action) q.set("action", filters.action);
    if (filters.since) q.set("since", localInputToUtc(filters.since));
    if (filters.until) q.set("until", localInputToUtc(filters.until));
    if (before !== null) q.set("before", String(before));
    return q.toString();
  };
  const load = (before: number | null) => {
    setError(null);
    apiGet<{ audit: AuditRow[]; next_before?: number }>(`/audit?${query(before)}`)
      .then((answer) => {
        setRows(before === null ? answer.audit : [...rows, ...answer.audit]);
        setNext(answer.next_before ?? null);
      })
      .catch((e) => setError(messageOf(e)));
  };
  useEffect(() => load(null), []);
  const verify = () =>
    apiGet<{ ok: boolean; rows: number; first_bad_id?: number; reason?: string }>("/audit/verify")
      .then((v) =>
        setVerdict(v.ok ? `The chain is whole: ${v.rows} rows.` : `BROKEN at row ${v.first_bad_id}: ${v.reason}`),
      )
      .catch((e) => setError(messageOf(e)));
  const field = (key: keyof typeof filters, type = "text") => (
    <input type={type} value={filters[key]} onInput={(e) => setFilters({ ...filters, [key]: (e.target as HTMLInputElement).value })} />
  );
  return (
    <>
      <form class="card filters" aria-label="Audit filters"
        onSubmit={(e) => {
          e.preventDefault();
          load(null);
        }}>
        <label>Actor {field("actor")}</label>
        <label>Action {field("action")}</label>
        <label>Since {field("since", "datetime-local")}</label>
        <label>Until {field("until", "datetime-local")}</label>
        <div class="actions">
          <button type="submit">Filter</button>
          <button type="button" class="secondary" onClick={() => void verify()}>
            Verify the chain
          </button>
        </div>
      </form>
      <div aria-live="polite">{verdict && <p class={verdict.startsWith("BROKEN") ? "error" : "ok"}>{verdict}</p>}</div>
      <ErrorBox error={error} />
      <Section title="Audit log">
        <table class="small">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">From</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id}>
                <td>{r.id}</td>
                <td>{formatTime(r.at)}</td>
                <td>{r.actor}</td>
                <td>{r.address}</td>
                <td class="mono">{r.action}</td>
                <td class="mono break">{r.target}</td>
                <td>{r.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {next !== null && (
          <button type="button" class="secondary" onClick={() => load(next)}>
            Older rows
          </button>
        )}
      </Section>
    </>
  );
}
