// What the specs of the two appliers (Kustomization, HelmRelease) share
// beyond plain references: dependsOn entries with their CEL readiness
// expression, and the CEL expressions that judge custom resources' health.
import { Type, type Static } from '@sinclair/typebox';

/** One entry of spec.dependsOn: an object of the same kind that must be ready first. */
export const DependencyReference = (description: string) =>
  Type.Object(
    {
      name: Type.String({ description: 'Name of the referent.' }),
      namespace: Type.Optional(Type.String({ description: 'Namespace of the referent, defaults to the namespace of the object that refers to it.' })),
      readyExpr: Type.Optional(
        Type.String({
          description:
            'CEL expression over self (this object) and dep (the dependency) that says whether the dependency is ready, instead of its Ready condition (in addition to it with the AdditiveCELDependencyCheck feature gate).',
        }),
      ),
    },
    { description },
  );

/** One entry of spec.healthCheckExprs. */
export const CustomHealthCheck = Type.Object(
  {
    apiVersion: Type.String({ description: 'API version of the custom resources the expressions judge (any version of its group matches).' }),
    kind: Type.Optional(Type.String({ description: 'Kind of the custom resources the expressions judge.' })),
    current: Type.String({ description: 'CEL expression true when the resource has reached the desired state.' }),
    inProgress: Type.Optional(Type.String({ description: 'CEL expression true while the resource is still moving towards the desired state (checked first).' })),
    failed: Type.Optional(Type.String({ description: 'CEL expression true when the resource has failed to reach the desired state (checked before current).' })),
  },
  { description: 'Health of a kind of custom resource by CEL expressions over its fields (status, metadata, spec...).' },
);

export const HealthCheckExprs = (description: string) => Type.Optional(Type.Array(CustomHealthCheck, { description }));

export type CustomHealthCheck = Static<typeof CustomHealthCheck>;
