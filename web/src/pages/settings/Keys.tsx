// The product's signing keys: register a public key, revoke one.
import { useEffect, useState } from "preact/hooks";
import { apiGet, apiSend, type Key } from "../../api";
import { useSession } from "../../session";
import { ErrorBox, Section } from "../../components/ui";
import { formatTime } from "../../format";
import { messageOf } from "./common";

export function Keys() {
  const { product, can } = useSession();
  const [keys, setKeys] = useState<Key[]>([]);
  const [name, setName] = useState("");
  const [pem, setPem] = useState("");
  const [error, setError] = useState<string | null>(null);
  const load = () => {
    if (!product) return;
    apiGet<{ keys: Key[] }>(`/products/${product}/keys`)
      .then((answer) => setKeys(answer.keys))
      .catch((e) => setError(messageOf(e)));
  };
  useEffect(load, [product]);
  const add = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      await apiSend("POST", `/products/${product}/keys`, { name, public_key: pem });
      setName("");
      setPem("");
      load();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  const remove = async (key: Key) => {
    if (!window.confirm(`Revoke the key ${key.name}? Nothing it signed is offered any more.`)) return;
    try {
      await apiSend("DELETE", `/keys/${key.id}`);
      load();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return (
    <>
      <ErrorBox error={error} />
      <Section title="Signing keys of this product">
        {keys.length === 0 ? (
          <p class="muted">No key: packages cannot be uploaded until one is registered.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Fingerprint (sha256)</th>
                <th scope="col">Registered</th>
                {can("keys:write") && <th scope="col">Revoke</th>}
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td class="mono break small">{k.fingerprint}</td>
                  <td>{formatTime(k.created_at)}</td>
                  {can("keys:write") && (
                    <td>
                      <button type="button" class="danger" onClick={() => void remove(k)}>
                        Revoke<span class="sr-only"> {k.name}</span>
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      {can("keys:write") && product && (
        <Section title="Register a public key">
          <form onSubmit={add}>
            <label>
              Name
              <input value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              Public key (PEM, RSA 2048 bits or more)
              <textarea required rows={6} value={pem} onInput={(e) => setPem((e.target as HTMLTextAreaElement).value)} />
            </label>
            <button type="submit">Register</button>
          </form>
        </Section>
      )}
    </>
  );
}
