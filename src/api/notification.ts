// What the three kinds of notification.toolkit.fluxcd.io share: the group,
// the categories and the reference to a Flux object by kind, name (or `*`)
// and labels, which Alerts use for their sources and Receivers for their targets.
import { Type, type Static } from '@sinclair/typebox';
import { StringMap } from './schema.ts';

export const NOTIFICATION_GROUP = 'notification.toolkit.fluxcd.io';
export const notificationCategories = ['all', 'fluxcd', 'fluxcd-notifications'];

/** The kinds an Alert may watch and a Receiver may wake, as Flux lists them. */
export const NOTIFIABLE_KINDS = [
  'Bucket',
  'GitRepository',
  'Kustomization',
  'HelmRelease',
  'HelmChart',
  'HelmRepository',
  'ImageRepository',
  'ImagePolicy',
  'ImageUpdateAutomation',
  'OCIRepository',
  'ArtifactGenerator',
  'ExternalArtifact',
] as const;

const referenceProperties = {
  apiVersion: Type.Optional(Type.String({ description: 'API version of the object.' })),
  kind: Type.Unsafe<(typeof NOTIFIABLE_KINDS)[number]>({ type: 'string', enum: [...NOTIFIABLE_KINDS], description: 'Kind of the object.' }),
  name: Type.String({ description: 'Name of the object, or * for every object of the kind (narrowed by matchLabels).', minLength: 1, maxLength: 253 }),
  namespace: Type.Optional(Type.String({ description: 'Namespace of the object; the namespace of the Alert or Receiver by default.', minLength: 1, maxLength: 253 })),
  matchLabels: Type.Optional(StringMap('Labels the object must carry (with name *).')),
};

/** A Flux object by kind and name, in any namespace. */
export const CrossNamespaceObjectReference = Type.Object(referenceProperties, { description: 'A Flux object by kind, name and namespace.' });
export type CrossNamespaceObjectReference = Static<typeof CrossNamespaceObjectReference>;

/** A Receiver's target: the reference plus a CEL filter. */
export const ReceiverResource = Type.Object(
  { ...referenceProperties, filter: Type.Optional(Type.String({ description: 'CEL expression over the object (res) and the request body (req) deciding whether this object is reconciled.' })) },
  { description: 'A Flux object the Receiver requests a reconcile of.' },
);
export type ReceiverResource = Static<typeof ReceiverResource>;
