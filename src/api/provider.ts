// Provider (notification.toolkit.fluxcd.io/v1beta3): where an Alert's events
// go (a chat, an incident service, a forge's commit status) and how to
// authenticate there.
import { Type, type Static } from '@sinclair/typebox';
import { Condition, Duration, Enum, LocalObjectReference, readyColumns, statusOptions, type ApiObject, type KindDefinition } from './schema.ts';
import { NOTIFICATION_GROUP, notificationCategories } from './notification.ts';

/** Every provider type Flux's API accepts (Sluice delivers to those src/notify/providers implements). */
export const PROVIDER_TYPES = [
  'slack', 'discord', 'msteams', 'rocket', 'generic', 'generic-hmac', 'github', 'gitlab', 'gitea', 'giteapullrequestcomment',
  'bitbucketserver', 'bitbucket', 'azuredevops', 'googlechat', 'googlepubsub', 'webex', 'sentry', 'azureeventhub', 'telegram',
  'lark', 'matrix', 'opsgenie', 'alertmanager', 'grafana', 'githubdispatch', 'githubpullrequestcomment', 'gitlabmergerequestcomment',
  'pagerduty', 'datadog', 'nats', 'zulip', 'otel',
] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** The types that set a commit status on a forge, and only they may carry commitStatusExpr. */
export const COMMIT_STATUS_TYPES = ['github', 'gitlab', 'gitea', 'bitbucketserver', 'bitbucket', 'azuredevops'] as const;

export const ProviderSpec = Type.Object(
  {
    type: Enum(PROVIDER_TYPES, 'The kind of service the events go to.'),
    interval: Type.Optional(Duration('Unused in v1beta3, kept for compatibility.')),
    channel: Type.Optional(Type.String({ description: 'Channel, room or chat the events go to, where the service has them.', maxLength: 2048 })),
    username: Type.Optional(Type.String({ description: 'Name the messages are posted under, where the service allows it.', maxLength: 2048 })),
    address: Type.Optional(Type.String({ description: 'URL of the service (a webhook, an API base or a repository URL for commit status).', maxLength: 2048 })),
    commitStatusExpr: Type.Optional(Type.String({ description: 'CEL expression over event, alert and provider giving the commit status key (a string).' })),
    timeout: Type.Optional(Duration('Time one delivery may take.', { pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m))+$' })),
    proxy: Type.Optional(Type.String({ description: 'HTTP(S) proxy for the requests (deprecated: use proxySecretRef).', maxLength: 2048, pattern: '^(http|https)://.*$' })),
    proxySecretRef: Type.Optional(LocalObjectReference('Secret with the proxy address (key address) and optional username and password.')),
    secretRef: Type.Optional(LocalObjectReference('Secret with the credentials: address, token, username/password, headers (YAML map).')),
    certSecretRef: Type.Optional(LocalObjectReference('Secret with the CA (ca.crt) and optional client certificate (tls.crt, tls.key) for the service.')),
    serviceAccountName: Type.Optional(Type.String({ description: 'Service account for workload identity (not supported by Sluice).' })),
    suspend: Type.Optional(Type.Boolean({ description: 'Stop sending to this Provider.' })),
  },
  {
    'x-kubernetes-validations': [
      {
        message: "spec.commitStatusExpr is only supported for the 'github', 'gitlab', 'gitea', 'bitbucketserver', 'bitbucket', 'azuredevops' provider types",
        rule: `${COMMIT_STATUS_TYPES.map((t) => `self.type == '${t}'`).join(' || ')} || !has(self.commitStatusExpr)`,
      },
    ],
  },
);

/** Sluice's addition: Flux's v1beta3 Provider has no status; Sluice reports whether its settings can be used. */
export const ProviderStatus = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ format: 'int64' })),
    conditions: Type.Optional(Type.Array(Condition)),
  },
  statusOptions,
);

export type ProviderSpec = Static<typeof ProviderSpec>;
export type ProviderStatus = Static<typeof ProviderStatus>;
export type Provider = ApiObject<ProviderSpec, ProviderStatus>;

export const providerKind: KindDefinition = {
  group: NOTIFICATION_GROUP,
  kind: 'Provider',
  plural: 'providers',
  singular: 'provider',
  categories: notificationCategories,
  description: 'Provider is a service that Alerts send events to.',
  versions: [{ name: 'v1beta3', spec: ProviderSpec, status: ProviderStatus, columns: readyColumns }],
};
