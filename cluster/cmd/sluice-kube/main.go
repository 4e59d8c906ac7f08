// Command sluice-kube is a multi-call binary holding every component of the
// local control plane Sluice develops and tests against: embedded etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, KWOK and a
// stand-in volume provisioner, plus a PKI generator. One binary instead of
// five saves four links of the Kubernetes tree (minutes on a 2-core machine)
// and gigabytes of build cache.
//
// Usage: sluice-kube <component> [flags...]
// Each component runs in its own process, started by `sluice cluster up`.
package main

import (
	"fmt"
	"os"
)

type component struct {
	name  string
	usage string
	run   func(args []string) error
}

var components = []component{
	{"etcd", "embedded etcd server", runEtcd},
	{"kube-apiserver", "Kubernetes API server", runAPIServer},
	{"kube-controller-manager", "Kubernetes controller manager", runControllerManager},
	{"kube-scheduler", "Kubernetes scheduler", runScheduler},
	{"kwok", "KWOK fake-kubelet controller with built-in fast stages", runKwok},
	{"volume-provisioner", "makes a PersistentVolume for every claim of any StorageClass", runVolumeProvisioner},
	{"pki", "generate certificates, keys and kubeconfigs", runPKI},
	{"version", "print component versions", runVersion},
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	// Components parse os.Args themselves (cobra, pflag); hide the sub-command.
	os.Args = append([]string{os.Args[0] + " " + name}, os.Args[2:]...)
	for _, c := range components {
		if c.name == name {
			if err := c.run(os.Args[1:]); err != nil {
				fmt.Fprintf(os.Stderr, "sluice-kube %s: %v\n", name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "sluice-kube: unknown component %q\n", name)
	usage()
	os.Exit(2)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: sluice-kube <component> [flags]")
	for _, c := range components {
		fmt.Fprintf(os.Stderr, "  %-24s %s\n", c.name, c.usage)
	}
}
