package main

import (
	"fmt"
	"runtime/debug"

	"k8s.io/component-base/version"
)

// The modules whose versions `sluice-kube version` reports, as go.mod pins
// them (read from the binary's own build information, so they cannot drift
// from what was compiled in).
var reportedModules = []struct{ label, path string }{
	{"kubernetes module", "k8s.io/kubernetes"},
	{"etcd", "go.etcd.io/etcd/server/v3"},
	{"kwok", "sigs.k8s.io/kwok"},
}

// runVersion prints the version the API server reports (stamped at build
// time by src/dev/cluster/build.ts, as Kubernetes' own build stamps it) and
// the versions of the modules the components come from.
func runVersion(_ []string) error {
	v := version.Get()
	fmt.Printf("kubernetes %s (major %s, minor %s, built %s, tree %s)\n", v.GitVersion, v.Major, v.Minor, v.BuildDate, v.GitTreeState)
	deps := map[string]string{}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Replace != nil {
				deps[d.Path] = d.Replace.Version
			} else {
				deps[d.Path] = d.Version
			}
		}
		fmt.Printf("go %s\n", info.GoVersion)
	}
	for _, m := range reportedModules {
		v := deps[m.path]
		if v == "" {
			v = "unknown"
		}
		fmt.Printf("%s %s\n", m.label, v)
	}
	return nil
}
