// What every provider type is: a pure function from an event and the
// Provider's settings to the HTTP requests that deliver it. Sending, retries,
// TLS and proxies are the dispatcher's (src/notify/send.ts), so each type is
// a small file tested by the requests it builds.
import type { FluxEvent } from '../../runtime/eventsink.ts';
import type { KubeObject } from '../../kube/object.ts';

/** A Provider's settings, its Secret's values resolved (never logged). */
export interface ProviderSettings {
  type: string;
  /** spec.address, or the Secret's address. */
  address: string;
  channel?: string;
  username?: string;
  /** The Secret's token. */
  token?: string;
  /** The Secret's username and password (basic auth). */
  basic?: { username: string; password: string };
  /** The Secret's headers (a YAML map), sent with every request; names in lower case. */
  headers: Record<string, string>;
  /** The same headers with their names as written (googlepubsub sends them as message attributes, where case counts). */
  headerNames?: Record<string, string>;
  /** Commit-status types: the status's key, `<kind>/<name>/<first part of the Provider's UID>` in lower case, as Flux makes it. */
  commitStatusKey: string;
  /** The Provider's UID: the change-request comment types key their comment with it. */
  providerUid?: string;
  /** The Alert the event came through (otel names its service after it). */
  alert?: { name: string; namespace: string; uid: string };
  /** Reads a Flux object from the operator's caches (otel finds the object's Kustomization and source with it). */
  lookup?: ObjectLookup;
}

/** A Flux object by kind, namespace and name, from the caches; undefined when there is none. */
export type ObjectLookup = (kind: string, namespace: string, name: string) => KubeObject | undefined;

export interface OutgoingRequest {
  method: 'POST' | 'PUT' | 'PATCH' | 'GET';
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** How requests reach a service (src/notify/send.ts uses it). */
export interface Transport {
  /** PEM CA bundle that the service's certificate must chain to (certSecretRef's ca.crt). */
  ca?: Buffer;
  /** Client certificate and key (certSecretRef's tls.crt and tls.key). */
  cert?: Buffer;
  key?: Buffer;
  /** http://[user:pass@]host:port */
  proxy?: string;
  timeoutMs: number;
}

/** Sends one request through the Provider's transport and gives the answer (a non-2xx answer throws DeliveryError). */
export type Exchange = (req: OutgoingRequest) => Promise<{ status: number; body: string }>;

/** What a type that talks more than once gets: the HTTP exchange, and the transport for protocols other than HTTP. */
export interface DeliveryContext {
  exchange: Exchange;
  transport: Transport;
}

export interface Notifier {
  /** Whether the settings can be used at all; a message saying what is missing, or undefined. */
  check(s: ProviderSettings): string | undefined;
  /** The requests for one event; none when this type has nothing to say about it. Throws when the event cannot be delivered. */
  build?(event: FluxEvent, s: ProviderSettings): OutgoingRequest[];
  /**
   * For types whose delivery is more than fixed requests (read a comment
   * before editing it, exchange a credential for a token, a protocol other
   * than HTTP): the whole delivery. Retried as a whole on retryable errors.
   */
  deliver?(event: FluxEvent, s: ProviderSettings, ctx: DeliveryContext): Promise<void>;
}

export const json = (v: unknown) => JSON.stringify(v);

/** `Kustomization/apps.flux-system`-style title of the object, as Flux's chat messages name it. */
export function objectTitle(e: FluxEvent): string {
  return `${e.involvedObject.kind}/${e.involvedObject.name}.${e.involvedObject.namespace ?? ''}`;
}

export function jsonHeaders(s: ProviderSettings, extra: Record<string, string> = {}): Record<string, string> {
  return { 'content-type': 'application/json', ...s.headers, ...extra };
}

export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export function needAddress(s: ProviderSettings): string | undefined {
  if (!s.address) return 'no address: set spec.address or the key address in spec.secretRef';
  try {
    const u = new URL(s.address);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return `the address must be an http or https URL, not ${u.protocol}`;
  } catch {
    return 'the address is not a valid URL';
  }
  return undefined;
}

/** Metadata lines as `key: value`, sorted, for text messages. */
export function metadataLines(e: FluxEvent): string[] {
  return Object.entries(e.metadata ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v}`);
}
