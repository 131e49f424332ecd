// What the browser tests run against: this build's real updatehub-server on a free port with
// its own data directory and the built dashboard, simulated devices (updatehub-sim), the API
// for set-up, and headless Chromium driven by playwright-core. Paths come from CTest
// (tests/browser/CMakeLists.txt) in the environment.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests through ctest`);
  return value;
}

export const env = {
  server: required("UH_SERVER_BINARY"),
  sim: required("UH_SIM_BINARY"),
  packages: required("UH_TEST_PACKAGES"),
  dashboard: required("UH_DASHBOARD_DIR"),
  web: required("UH_WEB_DIR"),
  chromium: process.env.UH_CHROMIUM || "/usr/bin/chromium",
};

// The product of the test packages (tests/support/make_test_packages.sh).
export const PRODUCT = "da852e7fda06a6c06df770dd6766e65466509905b2bf0b9e2f94523ddd06f914";
export const ADMIN_PASSWORD = "correct horse in a browser";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(what, check, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

// A child process whose output is kept for the failure message.
class Child {
  constructor(name, program, args, options = {}) {
    this.name = name;
    this.output = "";
    this.process = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
    const keep = (chunk) => {
      this.output += chunk.toString();
      if (this.output.length > 200000) this.output = this.output.slice(-100000);
    };
    this.process.stdout.on("data", keep);
    this.process.stderr.on("data", keep);
    this.exited = new Promise((resolve) => this.process.on("exit", (code, signal) => resolve({ code, signal })));
  }

  async stop() {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill("SIGTERM");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 10000);
    await this.exited;
    clearTimeout(timer);
  }
}

export class Server {
  static async start() {
    const server = new Server();
    server.dir = mkdtempSync(path.join(tmpdir(), "uh-browser-"));
    const config = path.join(server.dir, "server.toml");
    // Every client here is 127.0.0.1: the browser and the simulated fleet share its rate.
    writeFileSync(config, "requests_per_second_per_address = 0\naccess_log = false\n");
    server.child = new Child("updatehub-server", env.server, [
      "-c", config,
      "--listen", "127.0.0.1:0",
      "--data-dir", path.join(server.dir, "data"),
      "--dashboard-dir", env.dashboard,
      "--waiting-poll-seconds", "1",
    ], { env: { ...process.env, UPDATEHUB_ADMIN_PASSWORD: ADMIN_PASSWORD } });
    const port = await waitFor("the server's port", () => {
      const match = /\(port (\d+)\)/.exec(server.child.output);
      if (!match && server.child.process.exitCode !== null) {
        throw new Error(`updatehub-server exited: ${server.child.output}`);
      }
      return match ? Number(match[1]) : null;
    }, 15000);
    server.url = `http://127.0.0.1:${port}`;
    server.token = (await server.api("POST", "/login", { username: "admin", password: ADMIN_PASSWORD })).token;
    return server;
  }

  async api(method, route, body, token = this.token) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(`${this.url}/api/v1${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(answer)}`);
    return answer;
  }

  // The raw upload, for the server's own answer to compare with what the page shows.
  async upload(bytes) {
    const response = await fetch(`${this.url}/api/v1/packages`, {
      method: "POST",
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/octet-stream" },
      body: bytes,
    });
    return { status: response.status, body: await response.json() };
  }

  async stop() {
    await this.child.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// N simulated devices of the test packages' product on version 0.9, probing every second
// until every one runs `untilVersion` or has failed; round(failureRate * N) of them fail.
export function startFleet(server, { devices, failureRate, untilVersion, hardware = "board-a" }) {
  return new Child("updatehub-sim", env.sim, [
    "--server", server.url,
    "--product", PRODUCT,
    "--devices", String(devices),
    "--hardware", hardware,
    "--version", "0.9",
    "--serial-prefix", "web",
    "--poll-interval", "1",
    "--jitter", "0.3",
    "--failure-rate", String(failureRate),
    "--seed", "7",
    "--until-version", untilVersion,
    "--timeout", "150",
    "--key", path.join(env.packages, "key.pub"),
  ]);
}

// The test package with one byte of its root file system image (its largest object) changed:
// still signed, but an object that no longer matches its metadata. The package is a zip; its
// central directory says where each member's bytes are.
export function tamperedPackage() {
  const bytes = Buffer.from(readFileSync(path.join(env.packages, "signed.uhupkg")));
  const end = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error("signed.uhupkg is not a zip archive");
  let entry = bytes.readUInt32LE(end + 16);
  let largest = { size: 0, local: -1 };
  for (let i = 0; i < bytes.readUInt16LE(end + 10); i++) {
    const size = bytes.readUInt32LE(entry + 20);
    if (size > largest.size) largest = { size, local: bytes.readUInt32LE(entry + 42) };
    entry += 46 + bytes.readUInt16LE(entry + 28) + bytes.readUInt16LE(entry + 30) + bytes.readUInt16LE(entry + 32);
  }
  if (largest.local < 0) throw new Error("signed.uhupkg has no member");
  const local = largest.local;
  const data = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
  bytes[data + Math.floor(largest.size / 2)] ^= 0xff;
  return bytes;
}

export async function launchBrowser() {
  const require = createRequire(path.join(env.web, "package.json"));
  const { chromium } = require("playwright-core");
  return chromium.launch({
    executablePath: env.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

// Every console error and uncaught exception of a page, with the page's address then.
export function watchConsole(page, errors) {
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`${page.url()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`${page.url()}: uncaught ${error.message}`));
}
