// Device search (GET /devices): every filter of the API, in the address bar so that a search
// can be bookmarked or shared; a total, and pages by keyset (after=the last id seen).
import { Link, useLocation, useSearch } from "wouter-preact";
import { useEffect, useState } from "preact/hooks";
import type { Device } from "../api";
import { usePoll } from "../poll";
import { useSession } from "../session";
import { ErrorBox, LiveStatus, StateBadge } from "../components/ui";
import { formatAgo, identityText, localInputToUtc } from "../format";

const PAGE = 50;
const ROLLOUT_STATES = ["", "none", "pending", "downloading", "installing", "rebooting", "updated", "failed"];

interface Form {
  hardware: string;
  version: string;
  identity: string; // "serial=ABC region=eu"
  attributes: string;
  seen_after: string; // datetime-local
  seen_before: string;
  rollout_state: string;
}

function pairs(text: string): [string, string][] {
  return text
    .split(/[\s,]+/)
    .filter((part) => part.includes("="))
    .map((part) => {
      const at = part.indexOf("=");
      return [part.slice(0, at), part.slice(at + 1)];
    });
}

function formFromQuery(query: URLSearchParams): Form {
  const joined = (prefix: string) =>
    [...query.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => `${key.slice(prefix.length)}=${value}`)
      .join(" ");
  const local = (key: string) => {
    const value = query.get(key);
    if (!value) return "";
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return "";
    const offset = date.getTimezoneOffset() * 60000;
    return new Date(date.getTime() - offset).toISOString().slice(0, 16);
  };
  return {
    hardware: query.get("hardware") ?? "",
    version: query.get("version") ?? "",
    identity: joined("identity."),
    attributes: joined("attributes."),
    seen_after: local("seen_after"),
    seen_before: local("seen_before"),
    rollout_state: query.get("rollout_state") ?? "",
  };
}

function queryFromForm(form: Form): URLSearchParams {
  const query = new URLSearchParams();
  if (form.hardware) query.set("hardware", form.hardware);
  if (form.version) query.set("version", form.version);
  for (const [key, value] of pairs(form.identity)) query.set(`identity.${key}`, value);
  for (const [key, value] of pairs(form.attributes)) query.set(`attributes.${key}`, value);
  if (form.seen_after) query.set("seen_after", localInputToUtc(form.seen_after));
  if (form.seen_before) query.set("seen_before", localInputToUtc(form.seen_before));
  if (form.rollout_state) query.set("rollout_state", form.rollout_state);
  return query;
}

export function DevicesPage() {
  const { product } = useSession();
  const search = useSearch();
  const [, navigate] = useLocation();
  const query = new URLSearchParams(search);
  const [form, setForm] = useState<Form>(() => formFromQuery(query));
  const [pages, setPages] = useState<number[]>([]); // the "after" of each earlier page
  useEffect(() => setForm(formFromQuery(new URLSearchParams(search))), [search]);

  const api = new URLSearchParams(search);
  if (!api.has("product") && product) api.set("product", product);
  if (!api.has("limit")) api.set("limit", String(PAGE));
  const { data, error, updatedAt } = usePoll<{ devices: Device[]; total: number; next_after?: number }>(
    `/devices?${api.toString()}`,
  );

  const apply = (event: Event) => {
    event.preventDefault();
    setPages([]);
    navigate(`/devices?${queryFromForm(form).toString()}`);
  };
  const page = (after: number | null) => {
    const next = new URLSearchParams(search);
    if (after === null) next.delete("after");
    else next.set("after", String(after));
    navigate(`/devices?${next.toString()}`);
  };
  const field = (key: keyof Form) => ({
    value: form[key],
    onInput: (e: Event) => setForm({ ...form, [key]: (e.target as HTMLInputElement).value }),
  });

  return (
    <>
      <h1>Devices</h1>
      <form class="card filters" onSubmit={apply} aria-label="Device filters">
        <label>
          Hardware
          <input {...field("hardware")} placeholder="board-a" />
        </label>
        <label>
          Version
          <input {...field("version")} placeholder="1.0" />
        </label>
        <label>
          Identity (key=value …)
          <input {...field("identity")} placeholder="serial=ABC123" />
        </label>
        <label>
          Attributes (key=value …)
          <input {...field("attributes")} placeholder="region=eu" />
        </label>
        <label>
          Seen after
          <input type="datetime-local" {...field("seen_after")} />
        </label>
        <label>
          Seen before
          <input type="datetime-local" {...field("seen_before")} />
        </label>
        <label>
          Rollout state
          <select
            value={form.rollout_state}
            onChange={(e) => setForm({ ...form, rollout_state: (e.target as HTMLSelectElement).value })}
          >
            {ROLLOUT_STATES.map((s) => (
              <option key={s} value={s}>
                {s === "" ? "any" : s === "none" ? "in no rollout" : s}
              </option>
            ))}
          </select>
        </label>
        <div class="actions">
          <button type="submit">Search</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setPages([]);
              navigate("/devices");
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <LiveStatus updatedAt={updatedAt} error={error} />
      <ErrorBox error={error} />
      {data && (
        <>
          <p data-testid="device-total">
            <strong>{data.total}</strong> {data.total === 1 ? "device matches" : "devices match"}
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Identity</th>
                <th scope="col">Hardware</th>
                <th scope="col">Version</th>
                <th scope="col">Last seen</th>
                <th scope="col">Authentication</th>
              </tr>
            </thead>
            <tbody>
              {data.devices.map((d) => (
                <tr key={d.id}>
                  <td>
                    <Link href={`/devices/${d.id}`}>#{d.id}</Link>
                  </td>
                  <td>{identityText(d.identity)}</td>
                  <td>{d.hardware}</td>
                  <td>{d.version}</td>
                  <td>{formatAgo(d.last_seen)}</td>
                  <td>
                    <StateBadge state={d.auth_state} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager" aria-label="Pages">
            <button
              type="button"
              class="secondary"
              disabled={pages.length === 0}
              onClick={() => {
                const previous = pages.slice(0, -1);
                setPages(previous);
                page(pages.length > 1 ? pages[pages.length - 2] : null);
              }}
            >
              Previous page
            </button>
            <button
              type="button"
              class="secondary"
              disabled={data.next_after === undefined}
              onClick={() => {
                setPages([...pages, data.next_after!]);
                page(data.next_after!);
              }}
            >
              Next page
            </button>
          </nav>
        </>
      )}
    </>
  );
}
