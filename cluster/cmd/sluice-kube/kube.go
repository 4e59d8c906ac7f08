package main

import (
	"os"
	_ "time/tzdata" // CronJob time zones, as the upstream binaries do

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

// The three Kubernetes components run exactly as their upstream mains do:
// the same cobra commands, flags and exit codes.

func runAPIServer(_ []string) error {
	return exitWith(cli.Run(apiserver.NewAPIServerCommand()))
}

func runControllerManager(_ []string) error {
	return exitWith(cli.Run(controllermanager.NewControllerManagerCommand()))
}

func runScheduler(_ []string) error {
	return exitWith(cli.Run(scheduler.NewSchedulerCommand()))
}

func exitWith(code int) error {
	if code != 0 {
		os.Exit(code)
	}
	return nil
}
