// The product's packages, and uploading one: drop a .uhupkg (or choose it), watch the upload
// progress; a package the server refuses shows the server's reason.
import { Link } from "wouter-preact";
import { useRef, useState } from "preact/hooks";
import { uploadPackage, type Package } from "../api";
import { usePoll } from "../poll";
import { useSession } from "../session";
import { ErrorBox, LiveStatus, Section } from "../components/ui";
import { formatAgo, formatBytes, shortId } from "../format";

export function hardwareText(hardware: string | string[]): string {
  return Array.isArray(hardware) ? hardware.join(", ") : hardware;
}

export function PackagesPage() {
  const { product, can } = useSession();
  const { data, error, updatedAt, reload } = usePoll<{ packages: Package[] }>(
    product ? `/packages?product=${product}` : null,
  );
  return (
    <>
      <h1>Packages</h1>
      {can("packages:write") && <Upload onDone={reload} />}
      <LiveStatus updatedAt={updatedAt} error={error} />
      <ErrorBox error={error} />
      {!product && <p class="muted">Create a product first (Settings).</p>}
      {data && (
        <table>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">UID</th>
              <th scope="col">Hardware</th>
              <th scope="col">Size</th>
              <th scope="col">Signed</th>
              <th scope="col">Uploaded</th>
            </tr>
          </thead>
          <tbody>
            {data.packages.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">
                  No package yet.
                </td>
              </tr>
            )}
            {data.packages.map((p) => (
              <tr key={p.uid}>
                <td>
                  <Link href={`/packages/${p.uid}`}>{p.version}</Link>
                </td>
                <td class="mono">{shortId(p.uid, 16)}</td>
                <td>{hardwareText(p.supported_hardware)}</td>
                <td>{formatBytes(p.size)}</td>
                <td>{p.signed ? "yes" : "no"}</td>
                <td>{formatAgo(p.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

type UploadState =
  | { kind: "idle" }
  | { kind: "sending"; name: string; fraction: number }
  | { kind: "done"; name: string; pkg: Package }
  | { kind: "refused"; name: string; status: number; message: string };

function Upload({ onDone }: { onDone: () => void }) {
  const [state, setState] = useState<UploadState>({ kind: "idle" });
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const send = async (file: File) => {
    setState({ kind: "sending", name: file.name, fraction: 0 });
    try {
      const pkg = await uploadPackage(file, (fraction) =>
        setState({ kind: "sending", name: file.name, fraction }),
      );
      setState({ kind: "done", name: file.name, pkg });
      onDone();
    } catch (e) {
      const status = (e as { status?: number }).status ?? 0;
      setState({ kind: "refused", name: file.name, status, message: e instanceof Error ? e.message : String(e) });
    }
  };
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    const file = event.dataTransfer?.files?.[0];
    if (file) void send(file);
  };

  return (
    <Section title="Upload a package">
      <div
        class={`dropzone ${over ? "over" : ""}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <p>Drop a signed .uhupkg here, or</p>
        <label class="button">
          Choose a file
          <input
            ref={input}
            type="file"
            accept=".uhupkg"
            class="sr-only"
            data-testid="package-file"
            onChange={() => {
              const file = input.current?.files?.[0];
              if (file) void send(file);
              if (input.current) input.current.value = "";
            }}
          />
        </label>
        <p class="muted small">The server checks its signature and every object before storing it.</p>
      </div>
      <div aria-live="polite" data-testid="upload-status">
        {state.kind === "sending" && (
          <p>
            Uploading {state.name}…{" "}
            <progress max={1} value={state.fraction} aria-label={`Upload of ${state.name}`}>
              {Math.round(state.fraction * 100)}%
            </progress>{" "}
            {Math.round(state.fraction * 100)}%
          </p>
        )}
        {state.kind === "done" && (
          <p class="ok">
            Stored {state.name}: version {state.pkg.version},{" "}
            <Link href={`/packages/${state.pkg.uid}`}>package {shortId(state.pkg.uid)}</Link>.
          </p>
        )}
      </div>
      {state.kind === "refused" && (
        <ErrorBox
          error={`The server refused ${state.name}${state.status ? ` (${state.status})` : ""}: ${state.message}`}
        />
      )}
    </Section>
  );
}
