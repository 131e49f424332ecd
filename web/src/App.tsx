// The dashboard's frame: sign-in gate, navigation, product choice and the routes under /ui/.
import { Link, Redirect, Route, Router, Switch, useLocation } from "wouter-preact";
import { useEffect, useRef } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { SessionProvider, useSession } from "./session";
import { SignIn } from "./pages/SignIn";
import { OverviewPage } from "./pages/Overview";
import { DevicesPage } from "./pages/Devices";
import { DevicePage } from "./pages/Device";
import { PackagesPage } from "./pages/Packages";
import { PackagePage } from "./pages/Package";
import { RolloutsPage } from "./pages/Rollouts";
import { RolloutNewPage } from "./pages/RolloutNew";
import { RolloutPage } from "./pages/Rollout";
import { SettingsPage } from "./pages/Settings";

export function App() {
  return (
    <SessionProvider>
      <Router base="/ui">
        <Shell />
      </Router>
    </SessionProvider>
  );
}

function NavLink({ href, children }: { href: string; children: ComponentChildren }) {
  const [location] = useLocation();
  const active = href === "/" ? location === "/" : location.startsWith(href);
  return (
    <Link href={href} class={active ? "active" : ""} aria-current={active ? "page" : undefined}>
      {children}
    </Link>
  );
}

function Shell() {
  const session = useSession();
  const [location] = useLocation();
  const main = useRef<HTMLElement>(null);

  // A new page: its title for the tab, and focus for keyboard and screen reader users.
  useEffect(() => {
    main.current?.focus();
  }, [location]);

  if (session.loading) return <p class="muted center">Loading…</p>;
  if (!session.me) {
    return (
      <main id="main" class="signin-page">
        <SignIn />
      </main>
    );
  }
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">updatehub-server</span>
        <nav aria-label="Main">
          <NavLink href="/">Overview</NavLink>
          <NavLink href="/devices">Devices</NavLink>
          <NavLink href="/packages">Packages</NavLink>
          <NavLink href="/rollouts">Rollouts</NavLink>
          <NavLink href="/settings">Settings</NavLink>
        </nav>
        <ProductPicker />
        <span class="who">
          {session.me.name} <span class="muted">({session.me.role})</span>
        </span>
        <button type="button" class="link" onClick={() => void session.signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Switch>
          <Route path="/" component={OverviewPage} />
          <Route path="/devices" component={DevicesPage} />
          <Route path="/devices/:id">{(params) => <DevicePage id={params.id} />}</Route>
          <Route path="/packages" component={PackagesPage} />
          <Route path="/packages/:uid">{(params) => <PackagePage uid={params.uid} />}</Route>
          <Route path="/rollouts" component={RolloutsPage} />
          <Route path="/rollouts/new" component={RolloutNewPage} />
          <Route path="/rollouts/:id">{(params) => <RolloutPage id={params.id} />}</Route>
          <Route path="/settings">{() => <SettingsPage />}</Route>
          <Route path="/settings/:tab">{(params) => <SettingsPage tab={params.tab} />}</Route>
          <Route path="/signin">
            <Redirect to="/" />
          </Route>
          <Route>
            <h1>Not found</h1>
            <p>
              There is no page here. <Link href="/">Go to the overview</Link>.
            </p>
          </Route>
        </Switch>
      </main>
    </>
  );
}

function ProductPicker() {
  const { products, product, setProduct } = useSession();
  if (products.length === 0) return <span class="muted">no product yet</span>;
  return (
    <label class="product-picker">
      Product{" "}
      <select value={product} onChange={(e) => setProduct((e.target as HTMLSelectElement).value)}>
        {products.map((p) => (
          <option key={p.uid} value={p.uid}>
            {p.name} ({p.uid.slice(0, 8)})
          </option>
        ))}
      </select>
    </label>
  );
}
