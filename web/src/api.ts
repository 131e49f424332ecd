// The server's JSON API (/api/v1, described in /api/v1/openapi.yaml), with the session's bearer
// token. Every failure becomes an ApiError carrying the server's own message.

const TOKEN_KEY = "updatehub.token";

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

// Called when the server says the token is no longer valid (401): the app signs out.
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = { Accept: "application/json", ...extra };
  const token = getToken();
  if (token) out.Authorization = `Bearer ${token}`;
  return out;
}

async function errorOf(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && typeof body.error === "string") message = body.error;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message);
}

async function handle<T>(response: Response): Promise<T> {
  if (response.status === 401 && getToken()) onUnauthorized();
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}

export async function apiGet<T>(path: string): Promise<T> {
  return handle<T>(await fetch(`/api/v1${path}`, { headers: headers() }));
}

export async function apiSend<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers: headers({ "Content-Type": "application/json" }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return handle<T>(response);
}

// A GET that remembers the last answer's ETag and sends If-None-Match: a 304 means "unchanged"
// (null). Servers that send no ETag simply answer 200 each time.
export class ConditionalGet<T> {
  private etag: string | null = null;
  constructor(private path: string) {}

  async fetch(): Promise<T | null> {
    const extra: Record<string, string> = {};
    if (this.etag) extra["If-None-Match"] = this.etag;
    const response = await fetch(`/api/v1${this.path}`, { headers: headers(extra) });
    if (response.status === 304) return null;
    const value = await handle<T>(response);
    this.etag = response.headers.get("ETag");
    return value;
  }
}

// Uploads a file as the raw body of POST /api/v1/packages, reporting progress (0..1).
// XMLHttpRequest, because fetch() reports no upload progress.
export function uploadPackage(file: File, onProgress: (fraction: number) => void): Promise<Package> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", "/api/v1/packages");
    const token = getToken();
    if (token) request.setRequestHeader("Authorization", `Bearer ${token}`);
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onerror = () => reject(new ApiError(0, "the upload failed: the server could not be reached"));
    request.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        body = null;
      }
      if (request.status === 200 || request.status === 201) {
        resolve(body as Package);
        return;
      }
      if (request.status === 401) onUnauthorized();
      const message =
        body && typeof (body as { error?: unknown }).error === "string"
          ? (body as { error: string }).error
          : `${request.status} ${request.statusText}`;
      reject(new ApiError(request.status, message));
    };
    request.send(file);
  });
}

// The shapes the dashboard reads (see openapi.yaml).

export interface Me {
  id: number;
  name: string;
  role: string;
  admin: boolean;
  products: string[];
  scopes: string[];
  token_scopes: string[];
}

export interface Product {
  uid: string;
  name: string;
  created_at: string;
  device_auth: string;
  enrolment: string;
  client_ca: string;
  forbid_downgrades: boolean;
}

export interface Key {
  id: number;
  product: string;
  name: string;
  fingerprint: string;
  public_key: string;
  created_at: string;
}

export interface Package {
  uid: string;
  product: string;
  version: string;
  supported_hardware: string | string[];
  size: number;
  signed: boolean;
  key_id: number;
  objects: { sha256: string; size: number }[];
  metadata?: PackageMetadata;
  created_at: string;
}

export interface PackageMetadata {
  product?: string;
  version?: string;
  "supported-hardware"?: string | string[];
  objects?: Record<string, unknown>[][];
}

export interface Device {
  id: number;
  product: string;
  identity: Record<string, unknown>;
  attributes: Record<string, unknown>;
  hardware: string;
  version: string;
  last_seen: string;
  created_at: string;
  auth_state: string;
  // Only when showing one device: its 10 latest reports, as the history shows them.
  reports?: DeviceHistory["reports"];
  rollout?: DeviceRollout | null;
}

export interface DeviceRollout {
  id: number;
  name?: string;
  package?: string;
  rollout_state?: string;
  current_stage?: number;
  stage: number;
  state: string;
  error_message: string;
  started_at: string;
  updated_at: string;
}

export interface Report {
  id: number;
  device_id: number;
  package_uid: string;
  status: string;
  previous_state: string;
  error_message: string;
  current_log: string;
  created_at: string;
}

export interface DeviceHistory {
  device_id: number;
  reports: (Omit<Report, "device_id" | "current_log"> & { log_excerpt: string; log_truncated: boolean })[];
  versions: { id: number; version: string; since: string | null }[];
  rollouts: {
    rollout_id: number;
    name: string;
    package: string;
    package_version: string;
    rollout_state: string;
    active: boolean;
    stage: number;
    state: string;
    error_message: string;
    retries: number;
    started_at: string;
    updated_at: string;
  }[];
  next: { reports_before: number | null; versions_before: number | null; rollouts_before: number | null };
}

export interface StateCount {
  count: number;
  percent: number;
}

export interface Statistics {
  total: number;
  attempted: number;
  states: Record<string, StateCount>;
  stages: { stage: number; total: number; states: Record<string, StateCount> }[];
}

export interface Stage {
  percent: number;
  success_percent?: number;
  soak_seconds?: number;
  manual?: boolean;
}

export interface Rollout {
  id: number;
  product: string;
  package: string;
  name: string;
  state: string;
  archived: boolean;
  current_stage: number;
  reason: string;
  hold_reason: string | null;
  paused_by?: string | null;
  paused_at?: string | null;
  start_at: string;
  created_at: string;
  started_at: string;
  finished_at: string;
  stages?: Stage[];
  rate_per_hour?: number;
  maintenance_window?: { start: string; end: string } | null;
  failure_threshold?: { percent?: number; count?: number; min_attempted?: number } | null;
  devices?: number[];
  filter?: Record<string, unknown>;
  statistics: Statistics;
}

export interface RolloutDevice {
  device_id: number;
  identity: Record<string, unknown>;
  hardware: string;
  version: string;
  last_seen: string;
  stage: number;
  state: string;
  error_message: string;
  retries?: number;
  started_at: string;
  updated_at: string;
}

// GET /rollouts/{id}/progress: the minutes in which devices ended, oldest first, with running
// totals that start from `earlier` (the devices that ended before the first minute listed).
export interface RolloutProgress {
  rollout_id: number;
  earlier: { updated: number; failed: number };
  points: { at: string; updated: number; failed: number; updated_total: number; failed_total: number }[];
}

export interface Overview {
  product: string | null;
  devices: {
    total: number;
    by_version: { version: string; count: number }[];
    by_hardware: { hardware: string; count: number }[];
    by_rollout_state: { state: string; count: number }[];
    last_seen: { last_hour: number; last_day: number; overdue: number; overdue_after_seconds: number };
  };
  rollouts: Rollout[];
  latest_failures: {
    device_id: number;
    product: string;
    identity: Record<string, unknown>;
    hardware: string;
    version: string;
    package: string;
    previous_state: string;
    error_message: string;
    at: string;
  }[];
}

export interface User {
  id: number;
  name: string;
  role: string;
  admin: boolean;
  products: string[];
  scopes: string[];
  created_at: string;
}

export interface Token {
  id: string;
  user_id: number;
  kind: string;
  name: string;
  scopes: string[];
  created_at: string;
  expires_at: string;
  last_used_at: string;
  expired: boolean;
  current: boolean;
}

export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  user_id: number;
  token: string;
  address: string;
  action: string;
  target: string;
  status: number;
  detail: string;
}
