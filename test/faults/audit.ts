// Reading the API server's audit log (JSON lines, Metadata level) to show
// who wrote what when: with two controller replicas under leader election,
// every write must come from the replica that held the Lease at that moment.

export interface AuditEvent {
  stage: string;
  verb: string;
  requestURI: string;
  user?: { username?: string };
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
// Requests with the verb create that change nothing (access and token reviews).
const NOT_STATE = new Set(['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'subjectaccessreviews', 'tokenreviews', 'localsubjectaccessreviews']);

export function parseAuditLog(text: string): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as AuditEvent);
    } catch {
      // A line cut by a log rotation or a crash: not an event.
    }
  }
  return out;
}

export interface WriterReport {
  /** Writes (not the Lease, not dry runs, not reviews) by the audited users. */
  writes: number;
  /** Writes by a user that did not hold the Lease when the request arrived. */
  violations: Array<{ at: string; user: string; holder: string | undefined; verb: string; uri: string }>;
  /** Holder changes seen in the log, in order: [time, user]. */
  handovers: Array<[string, string]>;
  byUser: Record<string, number>;
}

/**
 * Replays the log in time order. A successful write of the Lease by user U
 * makes U the holder from the moment it completed; any other write by U
 * counts against U if U was not the holder when the API server received it.
 * Failed writes changed nothing and are ignored; so are dry runs.
 */
export function checkSingleWriter(events: AuditEvent[], o: { users: (u: string) => boolean; lease: { namespace: string; name: string } }): WriterReport {
  type Point = { t: number; kind: 'lease' | 'write'; e: AuditEvent };
  const points: Point[] = [];
  for (const e of events) {
    if (e.stage !== 'ResponseComplete' || !WRITES.has(e.verb) || !o.users(e.user?.username ?? '')) continue;
    const code = e.responseStatus?.code ?? 0;
    if (code < 200 || code >= 300) continue;
    if (/[?&]dryRun=/.test(e.requestURI) || NOT_STATE.has(e.objectRef?.resource ?? '')) continue;
    const isLease = e.objectRef?.resource === 'leases' && e.objectRef.namespace === o.lease.namespace && e.objectRef.name === o.lease.name;
    if (isLease) points.push({ t: Date.parse(e.stageTimestamp), kind: 'lease', e });
    else points.push({ t: Date.parse(e.requestReceivedTimestamp), kind: 'write', e });
  }
  // Ties: a lease write completing at the instant a write arrives counts first.
  points.sort((a, b) => a.t - b.t || (a.kind === 'lease' ? -1 : 1) - (b.kind === 'lease' ? -1 : 1));
  let holder: string | undefined;
  const report: WriterReport = { writes: 0, violations: [], handovers: [], byUser: {} };
  for (const p of points) {
    const user = p.e.user!.username!;
    if (p.kind === 'lease') {
      if (holder !== user) report.handovers.push([p.e.stageTimestamp, user]);
      holder = user;
      continue;
    }
    report.writes++;
    report.byUser[user] = (report.byUser[user] ?? 0) + 1;
    if (holder !== user) report.violations.push({ at: p.e.requestReceivedTimestamp, user, holder, verb: p.e.verb, uri: p.e.requestURI });
  }
  return report;
}
