package main

// Pinned in go.mod; repeated here so `sluice-kube version` can report them and
// the TypeScript side can key its build cache on them.
const (
	kubernetesVersion = "v1.36.3"
	etcdVersion       = "v3.6.8"
	kwokVersion       = "v0.8.0"
)
