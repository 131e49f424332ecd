// Products and how their devices authenticate (device_auth, enrolment, the product token).
import { useState } from "preact/hooks";
import { apiSend, type Product } from "../../api";
import { useSession } from "../../session";
import { ErrorBox, Section } from "../../components/ui";
import { messageOf } from "./common";

export function Products() {
  const { products, reloadProducts, can, setProduct } = useSession();
  const [name, setName] = useState("");
  const [uid, setUid] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);

  const create = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      const created = await apiSend<Product>("POST", "/products", uid ? { name, uid } : { name });
      setName("");
      setUid("");
      setProduct(created.uid);
      reloadProducts();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  const patch = async (product: string, change: Record<string, unknown>) => {
    setError(null);
    try {
      await apiSend("PATCH", `/products/${product}`, change);
      reloadProducts();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  const deviceToken = async (product: string, method: "POST" | "DELETE") => {
    setError(null);
    try {
      const answer = await apiSend<{ device_token?: string }>(method, `/products/${product}/device-token`);
      setSecret(answer.device_token ?? null);
      reloadProducts();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  const writable = can("products:write");
  return (
    <>
      <ErrorBox error={error} />
      {secret && (
        <p class="ok" role="status">
          The product's device token (shown once; devices send it in UH-Product-Token):{" "}
          <code class="break">{secret}</code>
        </p>
      )}
      <Section title="Products">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">UID</th>
              <th scope="col">Device authentication</th>
              <th scope="col">Enrolment</th>
              <th scope="col">Downgrades</th>
              {writable && <th scope="col">Device token</th>}
            </tr>
          </thead>
          <tbody>
            {products.map((p) => (
              <tr key={p.uid}>
                <td>{p.name}</td>
                <td class="mono break small">{p.uid}</td>
                <td>
                  {writable ? (
                    <select aria-label={`Device authentication of ${p.name}`} value={p.device_auth}
                      onChange={(e) => void patch(p.uid, { device_auth: (e.target as HTMLSelectElement).value })}>
                      {["none", "product-token", "device-token", "mtls"].map((v) => (
                        <option key={v} value={v}>
                          {v}
                        </option>
                      ))}
                    </select>
                  ) : (
                    p.device_auth
                  )}
                </td>
                <td>
                  {writable ? (
                    <select aria-label={`Enrolment of ${p.name}`} value={p.enrolment}
                      onChange={(e) => void patch(p.uid, { enrolment: (e.target as HTMLSelectElement).value })}>
                      {["off", "manual", "auto"].map((v) => (
                        <option key={v} value={v}>
                          {v}
                        </option>
                      ))}
                    </select>
                  ) : (
                    p.enrolment
                  )}
                </td>
                <td>
                  {writable ? (
                    <label class="inline">
                      <input type="checkbox" checked={p.forbid_downgrades}
                        onChange={(e) => void patch(p.uid, { forbid_downgrades: (e.target as HTMLInputElement).checked })} />
                      forbidden
                    </label>
                  ) : p.forbid_downgrades ? (
                    "forbidden"
                  ) : (
                    "allowed"
                  )}
                </td>
                {writable && (
                  <td>
                    <button type="button" class="secondary" onClick={() => void deviceToken(p.uid, "POST")}>
                      New token<span class="sr-only"> for {p.name}</span>
                    </button>{" "}
                    <button type="button" class="secondary" onClick={() => void deviceToken(p.uid, "DELETE")}>
                      Drop<span class="sr-only"> the token of {p.name}</span>
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      {writable && (
        <Section title="New product">
          <form class="inline-form" onSubmit={create}>
            <label>
              Name
              <input required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              UID (64 hex digits; empty: a new one)
              <input value={uid} pattern="[0-9a-f]{64}" onInput={(e) => setUid((e.target as HTMLInputElement).value)} />
            </label>
            <button type="submit">Create</button>
          </form>
        </Section>
      )}
    </>
  );
}
