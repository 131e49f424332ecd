// Your API tokens: create one with some of your scopes (its secret shown once), revoke.
import { useEffect, useState } from "preact/hooks";
import { apiGet, apiSend, type Token } from "../../api";
import { useSession } from "../../session";
import { ErrorBox, Section } from "../../components/ui";
import { formatAgo, formatTime } from "../../format";
import { SCOPES, messageOf } from "./common";

export function Tokens() {
  const { me } = useSession();
  const [tokens, setTokens] = useState<Token[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [days, setDays] = useState("90");
  const [scopes, setScopes] = useState<string[]>(["read"]);
  const [secret, setSecret] = useState<string | null>(null);
  const load = () => {
    apiGet<{ tokens: Token[] }>("/tokens")
      .then((answer) => setTokens(answer.tokens))
      .catch((e) => setError(messageOf(e)));
  };
  useEffect(load, []);
  const mine = me?.token_scopes ?? me?.scopes ?? [];
  const create = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      const answer = await apiSend<{ token: string }>("POST", "/tokens", { name, scopes, expires_in_days: Number(days) });
      setSecret(answer.token);
      setName("");
      load();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  const revoke = async (token: Token) => {
    try {
      await apiSend("DELETE", `/tokens/${token.id}`);
      load();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return (
    <>
      <ErrorBox error={error} />
      {secret && (
        <p class="ok" role="status">
          The new token (shown once): <code class="break">{secret}</code>
        </p>
      )}
      <Section title="Your tokens">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Scopes</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Revoke</th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.id}>
                <td>
                  {t.name || t.id}
                  {t.current && <span class="badge">this session</span>}
                </td>
                <td>{t.kind}</td>
                <td>{t.scopes.join(", ")}</td>
                <td>{t.expired ? "expired" : formatTime(t.expires_at)}</td>
                <td>{t.last_used_at ? formatAgo(t.last_used_at) : "never"}</td>
                <td>
                  {!t.current && (
                    <button type="button" class="danger" onClick={() => void revoke(t)}>
                      Revoke<span class="sr-only"> {t.name || t.id}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="New API token">
        <form onSubmit={create}>
          <label>
            Name
            <input required maxLength={100} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Expires in (days, 1 to 366)
            <input type="number" min={1} max={366} value={days} onInput={(e) => setDays((e.target as HTMLInputElement).value)} />
          </label>
          <fieldset>
            <legend>Scopes</legend>
            {SCOPES.filter((s) => mine.includes(s)).map((s) => (
              <label key={s} class="inline">
                <input type="checkbox" checked={scopes.includes(s)}
                  onChange={(e) =>
                    setScopes((e.target as HTMLInputElement).checked ? [...scopes, s] : scopes.filter((x) => x !== s))
                  } />
                {s}
              </label>
            ))}
          </fieldset>
          <button type="submit">Create</button>
        </form>
      </Section>
    </>
  );
}
