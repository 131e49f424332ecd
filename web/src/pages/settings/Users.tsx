// Users and their roles (administrators only).
import { useEffect, useState } from "preact/hooks";
import { apiGet, apiSend, type User } from "../../api";
import { useSession } from "../../session";
import { ErrorBox, Section } from "../../components/ui";
import { formatTime } from "../../format";
import { messageOf } from "./common";

export function Users() {
  const { me } = useSession();
  const [users, setUsers] = useState<User[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [form, setForm] = useState({ username: "", password: "", role: "viewer" });
  const load = () => {
    apiGet<{ users: User[] }>("/users")
      .then((answer) => setUsers(answer.users))
      .catch((e) => setError(messageOf(e)));
  };
  useEffect(load, []);
  const run = async (work: () => Promise<unknown>) => {
    setError(null);
    try {
      await work();
      load();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return (
    <>
      <ErrorBox error={error} />
      <Section title="Users">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Products</th>
              <th scope="col">Created</th>
              <th scope="col">Delete</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id}>
                <td>{u.name}</td>
                <td>
                  <select aria-label={`Role of ${u.name}`} value={u.role}
                    onChange={(e) => void run(() => apiSend("PATCH", `/users/${u.id}`, { role: (e.target as HTMLSelectElement).value }))}>
                    {["viewer", "release-manager", "admin"].map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                </td>
                <td>{u.products.length === 0 ? "all" : u.products.map((p) => p.slice(0, 8)).join(", ")}</td>
                <td>{formatTime(u.created_at)}</td>
                <td>
                  {u.id !== me?.id && (
                    <button type="button" class="danger"
                      onClick={() => window.confirm(`Delete the user ${u.name}?`) && void run(() => apiSend("DELETE", `/users/${u.id}`))}>
                      Delete<span class="sr-only"> {u.name}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="New user">
        <form class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              await apiSend("POST", "/users", form);
              setForm({ username: "", password: "", role: "viewer" });
            });
          }}>
          <label>
            User name
            <input required autoComplete="off" value={form.username}
              onInput={(e) => setForm({ ...form, username: (e.target as HTMLInputElement).value })} />
          </label>
          <label>
            Password (8 characters or more)
            <input required type="password" autoComplete="new-password" minLength={8} value={form.password}
              onInput={(e) => setForm({ ...form, password: (e.target as HTMLInputElement).value })} />
          </label>
          <label>
            Role
            <select value={form.role} onChange={(e) => setForm({ ...form, role: (e.target as HTMLSelectElement).value })}>
              {["viewer", "release-manager", "admin"].map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Create</button>
        </form>
      </Section>
    </>
  );
}
