// The dashboard in a real browser against a real server and simulated devices, as an operator
// uses it: sign in, upload a package and see a tampered one refused with the server's reason,
// create a staged rollout, watch the devices update without reloading, pause and resume,
// advance, see a failed device's error; a viewer sees no control; no page logs a console error.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { ADMIN_PASSWORD, PRODUCT, Server, env, launchBrowser, startFleet, tamperedPackage, waitFor, watchConsole } from "./harness.mjs";

const DEVICES = 8;
const FAILURES = 2; // round(0.25 * 8) devices of the fleet fail their update
const VIEWER = { username: "watcher", password: "looks but never touches" };

let server;
let fleet;
let browser;
let page;
let rolloutUrl;
const consoleErrors = [];
const apiAnswers = { etag: 0, notModified: 0, overviewNotModified: 0 };

// With UH_BROWSER_SCREENSHOTS=DIR, pictures of the pages for a person to look at.
async function screenshot(name) {
  if (!process.env.UH_BROWSER_SCREENSHOTS) return;
  await page.screenshot({ path: path.join(process.env.UH_BROWSER_SCREENSHOTS, `${name}.png`), fullPage: true });
}

before(async () => {
  server = await Server.start();
  await server.api("POST", "/products", { uid: PRODUCT, name: "browser board" });
  await server.api("POST", `/products/${PRODUCT}/keys`, {
    name: "test key",
    public_key: readFileSync(path.join(env.packages, "key.pub"), "utf8"),
  });
  await server.api("POST", "/users", { ...VIEWER, role: "viewer" });
  fleet = startFleet(server, { devices: DEVICES, failureRate: FAILURES / DEVICES, untilVersion: "1.0.0" });
  await waitFor("the fleet to reach the server", async () => {
    const found = await server.api("GET", `/devices?product=${PRODUCT}&limit=1`);
    return found.total === DEVICES;
  });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  page.setDefaultTimeout(30000);
  watchConsole(page, consoleErrors);
  page.on("response", (response) => {
    if (!response.url().includes("/api/v1/")) return;
    if (response.headers().etag) apiAnswers.etag++;
    if (response.status() === 304) apiAnswers.notModified++;
    if (response.status() === 304 && response.url().includes("/api/v1/overview")) apiAnswers.overviewNotModified++;
  });
});

after(async () => {
  await browser?.close();
  await fleet?.stop();
  await server?.stop();
});

test("sign in", async () => {
  await page.goto(`${server.url}/`);
  assert.match(page.url(), /\/ui\/$/);
  // With the keyboard alone: type, Tab to the password, Enter.
  await page.getByLabel("User name").focus();
  await page.keyboard.type("admin");
  await page.keyboard.press("Tab");
  await page.keyboard.type(ADMIN_PASSWORD);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  await page.getByText("admin (admin)").waitFor();
  // Every device of the fleet is counted.
  await page.locator(".tile", { hasText: "Devices" }).first().getByText(String(DEVICES)).waitFor();
});

test("upload a package, and see a tampered one refused with the server's reason", async () => {
  await page.getByRole("link", { name: "Packages" }).click();
  await page.getByRole("heading", { name: "Upload a package" }).waitFor();
  await page.getByTestId("package-file").setInputFiles(path.join(env.packages, "signed.uhupkg"));
  await page.getByText(/Stored signed\.uhupkg: version 1\.0\.0/).waitFor();
  await page.getByRole("link", { name: "1.0.0" }).waitFor();

  // What the server says about the tampered package, to find on the page.
  const bytes = tamperedPackage();
  const direct = await server.upload(bytes);
  assert.ok(direct.status >= 400 && direct.status < 500, `tampered upload answered ${direct.status}`);
  // The reason says what is wrong with the package, never where the server keeps its files.
  const reason = direct.body.error;
  assert.ok(!/uh-upload|\/tmp\//.test(reason), `the reason names a server file: ${reason}`);
  const before = consoleErrors.length;
  // Dropped on the drop zone, as a person drags a file from their desktop.
  await page.getByTestId("dropzone").evaluate((zone, { base64, name }) => {
    const raw = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([raw], name, { type: "application/octet-stream" }));
    zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, { base64: bytes.toString("base64"), name: "tampered.uhupkg" });
  const alert = page.getByRole("alert");
  await alert.waitFor();
  const shown = await alert.textContent();
  await screenshot("upload-refused");
  assert.ok(shown.includes("tampered.uhupkg"), shown);
  assert.ok(shown.includes(reason), `the page shows "${shown}", the server said "${reason}"`);
  // The browser logs the refused request itself; that one line is expected.
  await waitFor("the browser's line about the refused request", () => consoleErrors.length > before, 5000);
  const logged = consoleErrors.splice(before);
  assert.ok(logged.every((line) => line.includes(`status of ${direct.status}`)), logged.join("\n"));
  // Nothing was stored for it: still one package.
  assert.equal((await server.api("GET", `/packages?product=${PRODUCT}`)).packages.length, 1);
});

test("create a staged rollout with a live count of matching devices", async () => {
  await page.getByRole("link", { name: "Rollouts" }).click();
  await page.getByRole("link", { name: "New rollout" }).click();
  await page.getByRole("heading", { name: "New rollout" }).waitFor();
  await page.getByLabel("Name").fill("browser rollout");
  const preview = page.getByTestId("preview");
  await preview.getByText(`${DEVICES} devices match now`).waitFor();
  // A filter that matches nothing is refused before it is sent.
  await page.getByLabel("Hardware (comma separated)").fill("no-such-board");
  await preview.getByText("0 devices match now").waitFor();
  assert.equal(await page.getByRole("button", { name: "Create the rollout" }).isDisabled(), true);
  await page.getByLabel("Hardware (comma separated)").fill("board-a");
  await preview.getByText(`${DEVICES} devices match now`).waitFor();
  // Half the fleet first, with half of them enough, then a manual advance to everyone.
  await page.getByLabel("Stage 1 percent").fill("50");
  await page.getByLabel("Stage 1 success percent").fill("50");
  await page.getByLabel("Stage 1 waits for advance").check();
  await page.getByLabel("Failure threshold").selectOption("none");
  await page.getByRole("button", { name: "Create the rollout" }).click();
  await page.getByRole("heading", { name: "browser rollout" }).waitFor();
  rolloutUrl = page.url();
  assert.match(rolloutUrl, /\/ui\/rollouts\/\d+$/);
});

test("watch devices update live, pause, resume, advance, and see a failed device's error", async () => {
  // A mark on the window: it survives only if the page is never reloaded.
  await page.evaluate(() => {
    window.__notReloaded = true;
  });
  const count = async (state) => Number(await page.getByTestId(`count-${state}`).textContent());
  await waitFor("the first stage's devices to update", async () => (await count("updated")) >= 2, 60000);
  const hold = page.getByTestId("hold-reason");
  await hold.getByText(/waits for an "advance"/).waitFor({ timeout: 60000 });

  await page.getByRole("button", { name: "Pause" }).click();
  await hold.getByText(/paused/i).waitFor();
  await screenshot("rollout-paused");
  // A failed device of the first stage (the stage's devices are drawn at random) gets a new
  // attempt; it is planned to fail, so it fails again and still counts once.
  const retried = (await count("failed")) > 0;
  if (retried) {
    await page.getByRole("button", { name: "Retry the failed devices" }).click();
    await page.getByText(/Retried [1-9]\d* failed device/).waitFor();
  }
  await page.getByRole("button", { name: "Resume" }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Pause" }).count(), 0);
  await page.getByRole("button", { name: "Resume" }).click();
  await hold.getByText(/waits for an "advance"/).waitFor();
  if (retried) {
    // The simulated fleet ends once each of its devices has updated or failed, and counts a
    // retried device as failed until it is offered the package again: that offer must come
    // before the advance lets the rest of the fleet end.
    const id = rolloutUrl.split("/").pop();
    await waitFor("the retried devices to be offered the package again", async () => {
      const { devices } = await server.api("GET", `/rollouts/${id}/devices?limit=100`);
      return devices.filter((device) => device.retries > 0).every((device) => device.started_at !== "");
    }, 30000);
  }

  await page.getByRole("button", { name: "Advance to the next stage" }).click();
  await waitFor(
    "every device to update or fail",
    async () => (await count("updated")) === DEVICES - FAILURES && (await count("failed")) === FAILURES,
    90000,
  ).catch(async (error) => {
    // What the server and the simulated fleet say, for whoever reads the failure.
    const id = rolloutUrl.split("/").pop();
    const devices = await server.api("GET", `/rollouts/${id}/devices?limit=100`);
    error.message += `\nrollout devices: ${JSON.stringify(devices)}\nfleet: ${fleet.output.slice(-4000)}`;
    throw error;
  });
  assert.equal(await page.evaluate(() => window.__notReloaded), true, "the page was reloaded");

  // Each failed device with who it is and what went wrong.
  const failed = page.getByTestId("failed-devices").locator("tbody tr");
  await waitFor("the failed devices' rows", async () => (await failed.count()) === FAILURES);
  for (let i = 0; i < FAILURES; i++) {
    const row = failed.nth(i);
    assert.match(await row.textContent(), /serial=web-\d+/);
    assert.notEqual((await row.locator(".error-text").textContent()).trim(), "—");
  }
  // The device's own page has its reports, the error among them.
  await failed.first().getByRole("link").click();
  await page.getByRole("heading", { name: "Reports" }).waitFor();
  await page.locator(".timeline .error-text").first().waitFor();
});

test("a viewer sees the rollout but no control", async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const viewer = await context.newPage();
  viewer.setDefaultTimeout(30000);
  watchConsole(viewer, consoleErrors);
  await viewer.goto(rolloutUrl); // a deep link: the sign-in form, then the page itself
  await viewer.getByLabel("User name").fill(VIEWER.username);
  await viewer.getByLabel("Password").fill(VIEWER.password);
  await viewer.getByRole("button", { name: "Sign in" }).click();
  await viewer.getByRole("heading", { name: "browser rollout" }).waitFor();
  await viewer.getByTestId("hold-reason").waitFor();
  // Opened after the devices ended, the page draws their whole history from the server: the
  // chart's last row holds the final counts.
  const lastRow = viewer.locator("figure.chart", { hasText: "Devices over time" }).locator("tbody tr").last();
  await lastRow.waitFor({ state: "attached" });
  const cells = await lastRow.locator("td").allTextContents();
  assert.deepEqual(cells.map(Number), [DEVICES - FAILURES, FAILURES]);
  for (const name of ["Pause", "Resume", "Advance to the next stage", "Stop", "Start now", "Retry the failed devices"]) {
    assert.equal(await viewer.getByRole("button", { name }).count(), 0, `a viewer sees "${name}"`);
  }
  await viewer.getByRole("link", { name: "Packages" }).click();
  await viewer.getByRole("link", { name: "1.0.0" }).waitFor();
  assert.equal(await viewer.getByRole("heading", { name: "Upload a package" }).count(), 0);
  await viewer.getByRole("link", { name: "Rollouts" }).click();
  await viewer.getByRole("button", { name: "Archived" }).click(); // it has finished
  await viewer.getByRole("link", { name: "browser rollout" }).waitFor();
  assert.equal(await viewer.getByRole("link", { name: "New rollout" }).count(), 0);
  await viewer.getByRole("link", { name: "Settings" }).click();
  assert.equal(await viewer.getByRole("link", { name: "Users" }).count(), 0);
  assert.equal(await viewer.getByRole("link", { name: "Audit log" }).count(), 0);
  await context.close();
});

test("every page shows without a console error", async () => {
  const pages = [
    ["/ui/", "Overview"],
    ["/ui/devices", "Devices"],
    ["/ui/devices?hardware=board-a&identity.serial=web-1", "Devices"],
    ["/ui/devices/1", /^Device #1\b/],
    ["/ui/packages", "Packages"],
    ["/ui/rollouts", "Rollouts"],
    ["/ui/rollouts/new", "New rollout"],
    [new URL(rolloutUrl).pathname, "browser rollout"],
    ["/ui/settings", "Settings"],
    ["/ui/settings/keys", "Settings"],
    ["/ui/settings/users", "Settings"],
    ["/ui/settings/tokens", "Settings"],
    ["/ui/settings/audit", "Settings"],
    ["/ui/no/such/page", "Not found"],
  ];
  for (const [address, heading] of pages) {
    await page.goto(`${server.url}${address}`);
    await page.getByRole("heading", { name: heading, exact: typeof heading === "string" }).first().waitFor();
    await screenshot(address.replace(/[^a-z0-9]+/gi, "_"));
    await page.waitForTimeout(300); // the page's first requests answer
  }
  const packages = await server.api("GET", `/packages?product=${PRODUCT}`);
  await page.goto(`${server.url}/ui/packages/${packages.packages[0].uid}`);
  await page.getByRole("heading", { name: "Installation set A" }).waitFor();
  await page.getByText("0b60012643c710386c8011bd2db68dd531252b06c109b1489ec7e2d574126b2e").first().waitFor();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  assert.deepEqual(consoleErrors, []);
});

test("pages poll with If-None-Match and keep what a 304 confirms", async () => {
  await page.goto(`${server.url}/ui/`);
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  if (apiAnswers.etag === 0) return; // a server without ETags: every poll is a 200, also fine
  // The fleet is at rest: the overview's poll is a 304 too (it carries no time of its own).
  const overviewSeen = apiAnswers.overviewNotModified;
  await waitFor("a 304 to the overview's poll", () => apiAnswers.overviewNotModified > overviewSeen, 30000);
  await page.getByRole("link", { name: "Packages" }).click();
  await page.getByRole("link", { name: "1.0.0" }).waitFor();
  const seen = apiAnswers.notModified;
  await waitFor("a 304 to the packages page's poll", () => apiAnswers.notModified > seen, 30000);
  await page.getByRole("link", { name: "1.0.0" }).waitFor();
  assert.deepEqual(consoleErrors, []);
});
