// Settings: products and how their devices authenticate, signing keys, users, API tokens and
// the audit log. Each tab shows its controls only to users whose scopes allow them.
import { Link } from "wouter-preact";
import { useSession } from "../session";
import { Audit } from "./settings/Audit";
import { Keys } from "./settings/Keys";
import { Products } from "./settings/Products";
import { Tokens } from "./settings/Tokens";
import { Users } from "./settings/Users";

const TABS: { tab: string; label: string; scope?: string }[] = [
  { tab: "products", label: "Products" },
  { tab: "keys", label: "Signing keys" },
  { tab: "users", label: "Users", scope: "users:write" },
  { tab: "tokens", label: "API tokens" },
  { tab: "audit", label: "Audit log", scope: "audit:read" },
];

export function SettingsPage({ tab = "products" }: { tab?: string }) {
  const { can } = useSession();
  const tabs = TABS.filter((t) => !t.scope || can(t.scope));
  return (
    <>
      <h1>Settings</h1>
      <nav class="tabs" aria-label="Settings">
        {tabs.map((t) => (
          <Link key={t.tab} href={`/settings/${t.tab}`} class={t.tab === tab ? "active" : ""}
            aria-current={t.tab === tab ? "page" : undefined}>
            {t.label}
          </Link>
        ))}
      </nav>
      {tab === "products" && <Products />}
      {tab === "keys" && <Keys />}
      {tab === "users" && can("users:write") && <Users />}
      {tab === "tokens" && <Tokens />}
      {tab === "audit" && can("audit:read") && <Audit />}
    </>
  );
}
