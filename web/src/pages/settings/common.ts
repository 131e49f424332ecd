// What the settings tabs share.

export const SCOPES = ["read", "packages:write", "rollouts:write", "devices:write", "products:write", "keys:write",
  "users:write", "audit:read"];

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
