// The bench profile's audit log: one line per request of the identity the
// benchmark gives the Sluice controller, so the suite can say what Sluice
// itself sent (the API server's own metrics mix in every other client).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const BENCH_AUDIT_NAMESPACE = 'sluice-bench';
export const BENCH_AUDIT_SERVICE_ACCOUNT = 'controller';
export const BENCH_AUDITED_USER = `system:serviceaccount:${BENCH_AUDIT_NAMESPACE}:${BENCH_AUDIT_SERVICE_ACCOUNT}`;
/**
 * The reliability tests (test/faults/) give each controller replica a
 * service account of its own in this namespace, so the audit log says which
 * replica sent each write.
 */
export const FAULTS_AUDIT_NAMESPACE = 'sluice-faults';

export const auditPolicyPath = (dir: string) => join(dir, 'audit-policy.yaml');
export const auditLogPath = (dir: string) => join(dir, 'audit.log');

/**
 * Metadata only (no bodies: nothing secret is written), and only for the
 * audited users (the bench's controller, the reliability tests' replicas). A watch is logged when it starts; any other request when it
 * completes.
 */
export function auditPolicy(): string {
  return [
    'apiVersion: audit.k8s.io/v1',
    'kind: Policy',
    'omitStages: [RequestReceived]',
    'rules:',
    '- level: Metadata',
    `  users: ["${BENCH_AUDITED_USER}"]`,
    '- level: Metadata',
    `  userGroups: ["system:serviceaccounts:${FAULTS_AUDIT_NAMESPACE}"]`,
    '',
    '- level: None',
    '',
  ].join('\n');
}

export async function writeAuditPolicy(dir: string): Promise<void> {
  await writeFile(auditPolicyPath(dir), auditPolicy());
}

export function auditFlags(dir: string): string[] {
  return [
    `--audit-policy-file=${auditPolicyPath(dir)}`,
    `--audit-log-path=${auditLogPath(dir)}`,
    '--audit-log-format=json',
    '--audit-log-maxsize=2048',
    '--audit-log-maxbackup=1',
  ];
}
