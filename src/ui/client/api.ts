// Calls to the dashboard's own server (same origin; the header marks a
// request from this page's script, which a cross-site form cannot send).
export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = (await res.json()) as T & { message?: string };
  if (!res.ok) throw new Error(body.message ?? `HTTP ${res.status}`);
  return body;
}

export async function postJson<T>(path: string, body: unknown): Promise<{ status: number; body: T & { message?: string } }> {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sluice-request': '1' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as T & { message?: string } };
}

export interface WhoAmI {
  mode: 'local' | 'cluster';
  actions: boolean;
  loginRequired: boolean;
  user?: string;
  /** Kinds the server could not list, and why. */
  unavailable?: Record<string, string>;
}
