import { join } from 'node:path';
import { auditFlags } from './audit.ts';
import type { ClusterProfile, ComponentName, Ports } from './state.ts';

export interface FlagContext {
  dir: string;
  pkiDir: string;
  ports: Ports;
  profile: ClusterProfile;
}

/**
 * Client and inflight limits. The defaults are upstream's; the bench profile
 * raises them so that benchmarks measure Sluice, not the control plane's own
 * throttling (issue: "the cluster is not the bottleneck").
 */
export const limits = {
  default: { apiQps: 20, apiBurst: 30, maxInflight: 400, maxMutatingInflight: 200, kwokQps: 20, workloadSyncs: 5 },
  bench: { apiQps: 1000, apiBurst: 2000, maxInflight: 3000, maxMutatingInflight: 1500, kwokQps: 1000, workloadSyncs: 32 },
} as const;

/** Command-line flags of each component, all bound to loopback. */
export function componentArgs(name: ComponentName, c: FlagContext): string[] {
  const pki = (f: string) => join(c.pkiDir, f);
  const lim = limits[c.profile];
  switch (name) {
    case 'etcd':
      return [
        `--data-dir=${join(c.dir, 'etcd')}`,
        `--listen-client-url=http://127.0.0.1:${c.ports.etcdClient}`,
        `--listen-peer-url=http://127.0.0.1:${c.ports.etcdPeer}`,
        // A throwaway development cluster: durability across power loss is not worth the fsync latency.
        '--unsafe-no-fsync=true',
      ];
    case 'kube-apiserver':
      return [
        `--etcd-servers=http://127.0.0.1:${c.ports.etcdClient}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${c.ports.apiserver}`,
        `--cert-dir=${join(c.dir, 'apiserver-certs')}`,
        `--tls-cert-file=${pki('apiserver.crt')}`,
        `--tls-private-key-file=${pki('apiserver.key')}`,
        `--client-ca-file=${pki('ca.crt')}`,
        '--authorization-mode=Node,RBAC',
        '--anonymous-auth=false',
        `--service-account-key-file=${pki('sa.pub')}`,
        `--service-account-signing-key-file=${pki('sa.key')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        '--api-audiences=https://kubernetes.default.svc.cluster.local',
        '--service-cluster-ip-range=10.0.0.0/16',
        '--allow-privileged=true',
        // The endpoint reconciler would publish 127.0.0.1 as the kubernetes
        // Service's endpoint, which endpoint validation rejects.
        '--endpoint-reconciler-type=none',
        // Benchmarks profile the API server (/debug/pprof, cluster-admin
        // only) to see what the controller costs it.
        `--profiling=${c.profile === 'bench'}`,
        `--max-requests-inflight=${lim.maxInflight}`,
        `--max-mutating-requests-inflight=${lim.maxMutatingInflight}`,
        ...(c.profile === 'bench' ? auditFlags(c.dir) : []),
        '--v=0',
      ];
    case 'kube-controller-manager':
      return [
        `--kubeconfig=${pki('controller-manager.kubeconfig')}`,
        `--authentication-kubeconfig=${pki('controller-manager.kubeconfig')}`,
        `--authorization-kubeconfig=${pki('controller-manager.kubeconfig')}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${c.ports.controllerManager}`,
        `--cert-dir=${join(c.dir, 'controller-manager-certs')}`,
        '--leader-elect=false',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki('sa.key')}`,
        `--root-ca-file=${pki('ca.crt')}`,
        `--cluster-signing-cert-file=${pki('ca.crt')}`,
        `--cluster-signing-key-file=${pki('ca.key')}`,
        '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller',
        `--kube-api-qps=${lim.apiQps}`,
        `--kube-api-burst=${lim.apiBurst}`,
        // Deployments and ReplicaSets synced at once (upstream: 5): a health
        // check of a thousand new Deployments waits on these workers.
        `--concurrent-deployment-syncs=${lim.workloadSyncs}`,
        `--concurrent-replicaset-syncs=${lim.workloadSyncs}`,
        '--profiling=false',
      ];
    case 'kube-scheduler':
      return [
        `--kubeconfig=${pki('scheduler.kubeconfig')}`,
        `--authentication-kubeconfig=${pki('scheduler.kubeconfig')}`,
        `--authorization-kubeconfig=${pki('scheduler.kubeconfig')}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${c.ports.scheduler}`,
        `--cert-dir=${join(c.dir, 'scheduler-certs')}`,
        '--leader-elect=false',
        `--kube-api-qps=${lim.apiQps}`,
        `--kube-api-burst=${lim.apiBurst}`,
        '--profiling=false',
      ];
    case 'kwok':
      return [
        `--stage-dir=${join(c.dir, 'kwok')}`,
        `--kubeconfig=${pki('kwok.kubeconfig')}`,
        '--manage-all-nodes=false',
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
        '--node-ip=127.0.0.1',
        '--cidr=10.244.0.1/16',
        '--node-lease-duration-seconds=40',
        `--server-address=127.0.0.1:${c.ports.kwok}`,
      ];
    case 'volume-provisioner':
      // Makes a volume for every claim (KWOK's nodes mount nothing); see
      // cluster/internal/fakestorage.
      return [`--kubeconfig=${pki('volume-provisioner.kubeconfig')}`];
  }
}

export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
