/** Labels `sluice apply --name` stamps on what it applies, so prune knows what is still its own. */
export function cliOwnerLabels(name: string | undefined, inventoryNamespace: string): Record<string, string> | undefined {
  return name ? { 'apply.sluice.dev/name': name, 'apply.sluice.dev/namespace': inventoryNamespace } : undefined;
}

export const ownerFlags = {
  name: { type: 'string' },
  'inventory-namespace': { type: 'string', default: 'default' },
} as const;
