// Alert (notification.toolkit.fluxcd.io/v1beta3): which events of which Flux
// objects go to a Provider.
import { Type, type Static } from '@sinclair/typebox';
import { Condition, Enum, LocalObjectReference, StringMap, readyColumns, statusOptions, type ApiObject, type KindDefinition } from './schema.ts';
import { CrossNamespaceObjectReference, NOTIFICATION_GROUP, notificationCategories } from './notification.ts';

export const AlertSpec = Type.Object({
  providerRef: LocalObjectReference('The Provider, in the Alert\'s namespace, events are sent to.'),
  eventSeverity: Type.Optional(Enum(['info', 'error'] as const, 'Lowest severity sent: info sends every event, error only errors.', { default: 'info' })),
  eventSources: Type.Array(CrossNamespaceObjectReference, { description: 'The objects whose events are sent.' }),
  inclusionList: Type.Optional(Type.Array(Type.String(), { description: 'Regular expressions (Go syntax); when set, only events whose message matches one are sent.' })),
  eventMetadata: Type.Optional(StringMap('Metadata added to every event sent; keys the event already has are kept as they are.')),
  exclusionList: Type.Optional(Type.Array(Type.String(), { description: 'Regular expressions (Go syntax); events whose message matches one are not sent.' })),
  summary: Type.Optional(Type.String({ description: 'Short text added to the event metadata as summary (deprecated: use eventMetadata.summary).', maxLength: 255 })),
  suspend: Type.Optional(Type.Boolean({ description: 'Stop sending events of this Alert.' })),
});

/** Sluice's addition: Flux's v1beta3 Alert has no status; Sluice reports whether it can deliver. */
export const AlertStatus = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ format: 'int64' })),
    conditions: Type.Optional(Type.Array(Condition)),
  },
  statusOptions,
);

export type AlertSpec = Static<typeof AlertSpec>;
export type AlertStatus = Static<typeof AlertStatus>;
export type Alert = ApiObject<AlertSpec, AlertStatus>;

export const alertKind: KindDefinition = {
  group: NOTIFICATION_GROUP,
  kind: 'Alert',
  plural: 'alerts',
  singular: 'alert',
  categories: notificationCategories,
  description: 'Alert sends the events of the Flux objects it selects to a Provider.',
  versions: [{ name: 'v1beta3', spec: AlertSpec, status: AlertStatus, columns: readyColumns }],
};
