// One package (GET /packages/{uid}): its metadata, each installation set's objects, the key
// that signed it and the rollouts that use it.
import { Link } from "wouter-preact";
import { useEffect, useState } from "preact/hooks";
import { apiGet, type Key, type Package, type Rollout } from "../api";
import { useSession } from "../session";
import { ErrorBox, KeyValues, Loading, Section, StateBadge } from "../components/ui";
import { formatBytes, formatTime } from "../format";
import { hardwareText } from "./Packages";

export function PackagePage({ uid }: { uid: string }) {
  const { can } = useSession();
  const [pkg, setPkg] = useState<Package | null>(null);
  const [key, setKey] = useState<Key | null>(null);
  const [rollouts, setRollouts] = useState<Rollout[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    (async () => {
      try {
        const found = await apiGet<Package>(`/packages/${encodeURIComponent(uid)}`);
        if (!live) return;
        setPkg(found);
        const [keys, active, archived] = await Promise.all([
          apiGet<{ keys: Key[] }>(`/products/${found.product}/keys`),
          apiGet<{ rollouts: Rollout[] }>(`/products/${found.product}/rollouts`),
          apiGet<{ rollouts: Rollout[] }>(`/products/${found.product}/rollouts?archived=true`),
        ]);
        if (!live) return;
        setKey(keys.keys.find((k) => k.id === found.key_id) ?? null);
        setRollouts([...active.rollouts, ...archived.rollouts].filter((r) => r.package === uid));
      } catch (e) {
        if (live) setError(e instanceof Error ? e.message : String(e));
      }
    })();
    return () => {
      live = false;
    };
  }, [uid]);

  if (!pkg) {
    return (
      <>
        <h1>Package</h1>
        {error ? <ErrorBox error={error} /> : <Loading what="the package" />}
      </>
    );
  }
  const sets = pkg.metadata?.objects ?? [];
  return (
    <>
      <h1>Package {pkg.version}</h1>
      <ErrorBox error={error} />
      <div class="grid2">
        <Section title="Package">
          <KeyValues
            rows={[
              ["UID", <span class="mono break">{pkg.uid}</span>],
              ["Product", <span class="mono break">{pkg.product}</span>],
              ["Version", pkg.version],
              ["Supported hardware", hardwareText(pkg.supported_hardware)],
              ["Size", formatBytes(pkg.size)],
              ["Uploaded", formatTime(pkg.created_at)],
            ]}
          />
          {can("rollouts:write") && (
            <p>
              <Link class="button" href={`/rollouts/new?package=${pkg.uid}`}>
                Roll it out…
              </Link>
            </p>
          )}
        </Section>
        <Section title="Signature">
          {!pkg.signed ? (
            <p class="error-text">Not signed.</p>
          ) : key ? (
            <KeyValues
              rows={[
                ["Key", key.name],
                ["Fingerprint (sha256)", <span class="mono break">{key.fingerprint}</span>],
                ["Registered", formatTime(key.created_at)],
              ]}
            />
          ) : (
            <p class="error-text">Signed by key #{pkg.key_id}, which is no longer registered.</p>
          )}
        </Section>
      </div>
      {sets.map((objects, index) => (
        <Section key={index} title={`Installation set ${String.fromCharCode(65 + index)}`} id={`set-${index}`}>
          <table>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Mode</th>
                <th scope="col">Target</th>
                <th scope="col">Size</th>
                <th scope="col">sha256</th>
              </tr>
            </thead>
            <tbody>
              {objects.map((o, i) => (
                <tr key={i}>
                  <td>{String(o.filename ?? "")}</td>
                  <td>{String(o.mode ?? "")}</td>
                  <td class="mono">
                    {String(o.target ?? "")}
                    {o["target-path"] ? ` ${String(o["target-path"])}` : ""}
                  </td>
                  <td>{typeof o.size === "number" ? formatBytes(o.size) : ""}</td>
                  <td class="mono break small">{String(o.sha256sum ?? "")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      ))}
      <Section title="Rollouts of this package">
        {rollouts.length === 0 ? (
          <p class="muted">None yet.</p>
        ) : (
          <ul>
            {rollouts.map((r) => (
              <li key={r.id}>
                <Link href={`/rollouts/${r.id}`}>{r.name || `Rollout ${r.id}`}</Link> <StateBadge state={r.state} />
              </li>
            ))}
          </ul>
        )}
      </Section>
      <details class="card">
        <summary>Metadata (JSON)</summary>
        <pre>{JSON.stringify(pkg.metadata, null, 2)}</pre>
      </details>
    </>
  );
}
