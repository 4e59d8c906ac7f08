// Receiver (notification.toolkit.fluxcd.io/v1): a webhook that, called by a
// forge or a registry, asks for an immediate reconcile of Flux objects.
import { Type, type Static } from '@sinclair/typebox';
import { Condition, Duration, Enum, LocalObjectReference, ReconcileRequestStatus, readyColumns, statusOptions, type ApiObject, type KindDefinition } from './schema.ts';
import { NOTIFICATION_GROUP, ReceiverResource, notificationCategories } from './notification.ts';

export const RECEIVER_TYPES = ['generic', 'generic-hmac', 'generic-oidc', 'github', 'gitlab', 'bitbucket', 'harbor', 'dockerhub', 'quay', 'gcr', 'nexus', 'acr', 'cdevents'] as const;
export type ReceiverType = (typeof RECEIVER_TYPES)[number];

/** Where every webhook path starts. */
export const WEBHOOK_PATH_PREFIX = '/hook/';

const OidcProvider = Type.Object({
  issuerURL: Type.String({ description: 'The OIDC issuer.', pattern: '^https?://' }),
  audience: Type.Optional(Type.String({ description: 'Expected audience of the token.' })),
  variables: Type.Optional(
    Type.Array(Type.Object({ name: Type.String({ description: 'Variable name.' }), expression: Type.String({ description: 'CEL expression.' }) }), { description: 'CEL variables over the claims.' }),
  ),
  validations: Type.Array(Type.Object({ expression: Type.String({ description: 'CEL expression.' }), message: Type.String({ description: 'Message when it fails.' }) }), {
    description: 'CEL checks of the claims.',
    minItems: 1,
  }),
});

export const ReceiverSpec = Type.Object(
  {
    type: Enum(RECEIVER_TYPES, 'Who calls the webhook, which decides how a call is authenticated.'),
    interval: Type.Optional(Duration('How often the Receiver is checked against its Secret.', { default: '10m' })),
    events: Type.Optional(Type.Array(Type.String(), { description: 'Event types accepted (e.g. push, ping for github); all when empty.' })),
    resources: Type.Array(ReceiverResource, { description: 'The objects a valid call reconciles.' }),
    resourceFilter: Type.Optional(Type.String({ description: 'CEL expression over the object (res) and the request body (req) deciding which resources are reconciled.' })),
    secretRef: Type.Optional(LocalObjectReference('Secret with the token (key token) that makes the webhook path and signs or authorizes calls.')),
    oidcProviders: Type.Optional(
      Type.Array(OidcProvider, { description: 'OIDC issuers whose ID tokens a generic-oidc Receiver accepts.', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['issuerURL'] }),
    ),
    suspend: Type.Optional(Type.Boolean({ description: 'Answer calls with 503 and reconcile nothing.' })),
  },
  {
    'x-kubernetes-validations': [
      { message: 'generic-oidc receivers must define at least one oidcProvider', rule: "self.type != 'generic-oidc' || (has(self.oidcProviders) && size(self.oidcProviders) > 0)" },
      { message: 'oidcProviders can only be set when type is generic-oidc', rule: "self.type == 'generic-oidc' || !has(self.oidcProviders) || size(self.oidcProviders) == 0" },
      { message: 'secretRef cannot be set when type is generic-oidc', rule: "self.type != 'generic-oidc' || !has(self.secretRef)" },
      { message: 'secretRef is required when type is not generic-oidc', rule: "self.type == 'generic-oidc' || has(self.secretRef)" },
    ],
  },
);

export const ReceiverStatus = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ format: 'int64' })),
    conditions: Type.Optional(Type.Array(Condition)),
    webhookPath: Type.Optional(Type.String({ description: 'The path the webhook is served at: /hook/ and sha256(token + name + namespace).' })),
    ...ReconcileRequestStatus,
  },
  statusOptions,
);

export type ReceiverSpec = Static<typeof ReceiverSpec>;
export type ReceiverStatus = Static<typeof ReceiverStatus>;
export type Receiver = ApiObject<ReceiverSpec, ReceiverStatus>;

export const receiverKind: KindDefinition = {
  group: NOTIFICATION_GROUP,
  kind: 'Receiver',
  plural: 'receivers',
  singular: 'receiver',
  categories: notificationCategories,
  description: 'Receiver serves a webhook that requests an immediate reconcile of Flux objects.',
  versions: [{ name: 'v1', spec: ReceiverSpec, status: ReceiverStatus, columns: readyColumns }],
};
