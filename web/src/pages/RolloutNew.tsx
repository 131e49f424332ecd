// A new rollout: package, selection, stages and the rest of the plan, with the number of
// devices it would take now (POST .../rollouts/preview) kept up to date as the form changes.
import { useLocation, useSearch } from "wouter-preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { apiGet, apiSend, type Package, type Rollout } from "../api";
import { useSession } from "../session";
import { ErrorBox, Section } from "../components/ui";
import { localInputToUtc } from "../format";

interface StageRow {
  percent: string;
  success_percent: string;
  soak_minutes: string;
  manual: boolean;
}

interface Preview {
  matching_devices: number;
  excluded: { unsupported_hardware: number; not_accepted: number; newer_version: number };
  unknown_device_ids: number[];
}

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of list(text)) {
    const at = part.indexOf("=");
    if (at > 0) out[part.slice(0, at)] = part.slice(at + 1);
  }
  return out;
}

export function RolloutNewPage() {
  const { product } = useSession();
  const search = useSearch();
  const [, navigate] = useLocation();
  const [packages, setPackages] = useState<Package[]>([]);
  const [pkg, setPkg] = useState(new URLSearchParams(search).get("package") ?? "");
  const [name, setName] = useState("");
  const [selection, setSelection] = useState<"all" | "filter" | "devices">("filter");
  const [hardware, setHardware] = useState("");
  const [versions, setVersions] = useState("");
  const [identity, setIdentity] = useState("");
  const [attributes, setAttributes] = useState("");
  const [deviceIds, setDeviceIds] = useState("");
  const [waitForDevices, setWaitForDevices] = useState(false);
  const [stages, setStages] = useState<StageRow[]>([
    { percent: "10", success_percent: "100", soak_minutes: "0", manual: false },
    { percent: "100", success_percent: "100", soak_minutes: "0", manual: false },
  ]);
  const [rate, setRate] = useState("0");
  const [startAt, setStartAt] = useState("");
  const [windowStart, setWindowStart] = useState("");
  const [windowEnd, setWindowEnd] = useState("");
  const [thresholdKind, setThresholdKind] = useState<"none" | "percent" | "count">("percent");
  const [threshold, setThreshold] = useState("10");
  const [minAttempted, setMinAttempted] = useState("1");
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!product) return;
    apiGet<{ packages: Package[] }>(`/packages?product=${product}`)
      .then((answer) => {
        setPackages(answer.packages);
        if (!pkg && answer.packages.length > 0) setPkg(answer.packages[answer.packages.length - 1].uid);
      })
      .catch((e) => setError(e instanceof Error ? e.message : String(e)));
  }, [product]);

  const body = useMemo(() => {
    const out: Record<string, unknown> = { package: pkg };
    if (name) out.name = name;
    if (selection === "devices") out.devices = list(deviceIds).map(Number);
    if (selection === "filter") {
      const filter: Record<string, unknown> = {};
      if (hardware) filter.hardware = list(hardware);
      if (versions) filter.versions = list(versions);
      if (identity) filter.identity = keyValues(identity);
      if (attributes) filter.attributes = keyValues(attributes);
      out.filter = filter;
    }
    out.stages = stages.map((s) => ({
      percent: Number(s.percent),
      success_percent: Number(s.success_percent),
      soak_seconds: Math.round(Number(s.soak_minutes) * 60),
      manual: s.manual,
    }));
    if (Number(rate) > 0) out.rate_per_hour = Number(rate);
    if (startAt) out.start_at = localInputToUtc(startAt);
    if (windowStart && windowEnd) out.maintenance_window = { start: windowStart, end: windowEnd };
    if (thresholdKind !== "none") {
      out.failure_threshold = {
        [thresholdKind]: Number(threshold),
        min_attempted: Number(minAttempted),
      };
    }
    return out;
  }, [pkg, name, selection, deviceIds, hardware, versions, identity, attributes, stages, rate, startAt,
    windowStart, windowEnd, thresholdKind, threshold, minAttempted]);

  // The live count, a moment after the form stops changing.
  useEffect(() => {
    if (!product || !pkg) return;
    const timer = window.setTimeout(() => {
      apiSend<Preview>("POST", `/products/${product}/rollouts/preview`, body)
        .then((answer) => {
          setPreview(answer);
          setPreviewError(null);
        })
        .catch((e) => {
          setPreview(null);
          setPreviewError(e instanceof Error ? e.message : String(e));
        });
    }, 300);
    return () => window.clearTimeout(timer);
  }, [product, body]);

  const none = preview !== null && preview.matching_devices === 0;
  const mayBeEmpty = selection === "all" || waitForDevices;

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    if (none && !mayBeEmpty) {
      setError("This selection matches no device now. Change it, or tick “wait for devices” to create it anyway.");
      return;
    }
    setBusy(true);
    try {
      const definition = { ...body };
      if (waitForDevices && selection === "filter") definition.wait_for_devices = true;
      const created = await apiSend<Rollout>("POST", `/products/${product}/rollouts`, definition);
      navigate(`/rollouts/${created.id}`);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const setStage = (index: number, change: Partial<StageRow>) =>
    setStages(stages.map((s, i) => (i === index ? { ...s, ...change } : s)));

  return (
    <>
      <h1>New rollout</h1>
      <form class="rollout-form" onSubmit={submit}>
        <Section title="What">
          <label>
            Package
            <select value={pkg} onChange={(e) => setPkg((e.target as HTMLSelectElement).value)} required>
              <option value="">choose a package</option>
              {packages.map((p) => (
                <option key={p.uid} value={p.uid}>
                  {p.version} ({p.uid.slice(0, 12)})
                </option>
              ))}
            </select>
          </label>
          <label>
            Name
            <input value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} maxLength={200} />
          </label>
        </Section>
        <Section title="Which devices">
          <fieldset>
            <legend>Selection</legend>
            {(["filter", "all", "devices"] as const).map((kind) => (
              <label key={kind} class="inline">
                <input type="radio" name="selection" checked={selection === kind} onChange={() => setSelection(kind)} />
                {kind === "filter" ? "Devices matching a filter" : kind === "all" ? "Every device of the product" : "Some devices by id"}
              </label>
            ))}
          </fieldset>
          {selection === "filter" && (
            <div class="grid2">
              <label>
                Hardware (comma separated)
                <input value={hardware} onInput={(e) => setHardware((e.target as HTMLInputElement).value)} />
              </label>
              <label>
                Current versions (comma separated)
                <input value={versions} onInput={(e) => setVersions((e.target as HTMLInputElement).value)} />
              </label>
              <label>
                Identity (key=value …)
                <input value={identity} onInput={(e) => setIdentity((e.target as HTMLInputElement).value)} />
              </label>
              <label>
                Attributes (key=value …)
                <input value={attributes} onInput={(e) => setAttributes((e.target as HTMLInputElement).value)} />
              </label>
              <label class="inline">
                <input type="checkbox" checked={waitForDevices}
                  onChange={(e) => setWaitForDevices((e.target as HTMLInputElement).checked)} />
                Wait for devices that match later
              </label>
            </div>
          )}
          {selection === "devices" && (
            <label>
              Device ids (comma separated)
              <input value={deviceIds} onInput={(e) => setDeviceIds((e.target as HTMLInputElement).value)} />
            </label>
          )}
          <div aria-live="polite" class="preview" data-testid="preview">
            {previewError ? (
              <p class="error-text">Cannot count: {previewError}</p>
            ) : preview === null ? (
              <p class="muted">Counting matching devices…</p>
            ) : (
              <p class={none ? "warn-text" : ""}>
                <strong>{preview.matching_devices}</strong>{" "}
                {preview.matching_devices === 1 ? "device matches" : "devices match"} now
                {preview.excluded.unsupported_hardware + preview.excluded.not_accepted + preview.excluded.newer_version > 0 &&
                  ` (left out: ${preview.excluded.unsupported_hardware} unsupported hardware, ${preview.excluded.not_accepted} not accepted, ${preview.excluded.newer_version} newer version)`}
                {preview.unknown_device_ids.length > 0 && `; unknown ids: ${preview.unknown_device_ids.join(", ")}`}
                {none && (mayBeEmpty ? " — it will wait for devices." : " — a rollout needs at least one.")}
              </p>
            )}
          </div>
        </Section>
        <Section title="Stages">
          <table>
            <thead>
              <tr>
                <th scope="col">Stage</th>
                <th scope="col">Devices (cumulative %)</th>
                <th scope="col">Success needed (%)</th>
                <th scope="col">Soak (minutes)</th>
                <th scope="col">Manual advance</th>
                <th scope="col">
                  <span class="sr-only">Remove</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {stages.map((s, i) => (
                <tr key={i}>
                  <th scope="row">{i + 1}</th>
                  <td>
                    <input type="number" min={0} max={100} step="any" aria-label={`Stage ${i + 1} percent`} value={s.percent}
                      onInput={(e) => setStage(i, { percent: (e.target as HTMLInputElement).value })} />
                  </td>
                  <td>
                    <input type="number" min={0} max={100} step="any" aria-label={`Stage ${i + 1} success percent`}
                      value={s.success_percent}
                      onInput={(e) => setStage(i, { success_percent: (e.target as HTMLInputElement).value })} />
                  </td>
                  <td>
                    <input type="number" min={0} step="any" aria-label={`Stage ${i + 1} soak minutes`} value={s.soak_minutes}
                      onInput={(e) => setStage(i, { soak_minutes: (e.target as HTMLInputElement).value })} />
                  </td>
                  <td>
                    <input type="checkbox" aria-label={`Stage ${i + 1} waits for advance`} checked={s.manual}
                      onChange={(e) => setStage(i, { manual: (e.target as HTMLInputElement).checked })} />
                  </td>
                  <td>
                    <button type="button" class="secondary" disabled={stages.length === 1}
                      onClick={() => setStages(stages.filter((_, j) => j !== i))}>
                      Remove<span class="sr-only"> stage {i + 1}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" class="secondary"
            onClick={() => setStages([...stages, { percent: "100", success_percent: "100", soak_minutes: "0", manual: false }])}>
            Add a stage
          </button>
          <p class="muted small">The last stage must be 100 %.</p>
        </Section>
        <Section title="Pace and safety">
          <div class="grid2">
            <label>
              Devices started per hour (0: no limit)
              <input type="number" min={0} value={rate} onInput={(e) => setRate((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              Start at (empty: now)
              <input type="datetime-local" value={startAt} onInput={(e) => setStartAt((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              Maintenance window start (UTC)
              <input type="time" value={windowStart} onInput={(e) => setWindowStart((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              Maintenance window end (UTC)
              <input type="time" value={windowEnd} onInput={(e) => setWindowEnd((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              Failure threshold
              <select value={thresholdKind}
                onChange={(e) => setThresholdKind((e.target as HTMLSelectElement).value as "none" | "percent" | "count")}>
                <option value="percent">percent of the devices attempted</option>
                <option value="count">number of devices</option>
                <option value="none">none</option>
              </select>
            </label>
            {thresholdKind !== "none" && (
              <label>
                Pause when failures exceed
                <input type="number" min={0} step="any" value={threshold}
                  onInput={(e) => setThreshold((e.target as HTMLInputElement).value)} />
              </label>
            )}
            {thresholdKind !== "none" && (
              <label>
                … once this many devices were attempted
                <input type="number" min={1} value={minAttempted}
                  onInput={(e) => setMinAttempted((e.target as HTMLInputElement).value)} />
              </label>
            )}
          </div>
        </Section>
        <ErrorBox error={error} />
        <div class="actions">
          <button type="submit" disabled={busy || !pkg || (none && !mayBeEmpty)}>
            {busy ? "Creating…" : "Create the rollout"}
          </button>
        </div>
      </form>
    </>
  );
}
