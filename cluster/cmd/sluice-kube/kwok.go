package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodeheartbeat "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
	"sigs.k8s.io/kwok/pkg/config"
	"sigs.k8s.io/kwok/pkg/kwok/cmd"
	"sigs.k8s.io/kwok/pkg/log"
	"sigs.k8s.io/kwok/pkg/utils/signals"
)

// runKwok runs the KWOK controller with the stages KWOK itself ships (nodes
// become Ready and keep a lease; pods go Running/Ready and complete), written
// to a config file next to --stage-dir so no downloaded file is needed.
func runKwok(args []string) error {
	stageDir := ""
	rest := make([]string, 0, len(args))
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--stage-dir="); ok {
			stageDir = v
			continue
		}
		rest = append(rest, a)
	}
	if stageDir == "" {
		return fmt.Errorf("--stage-dir=DIR is required")
	}
	if err := os.MkdirAll(stageDir, 0o755); err != nil {
		return err
	}
	stages := strings.Join([]string{
		nodefast.DefaultNodeInit,
		nodeheartbeat.DefaultNodeHeartbeatWithLease,
		podfast.DefaultPodReady,
		podfast.DefaultPodComplete,
		podfast.DefaultPodDelete,
	}, "\n---\n")
	stageFile := filepath.Join(stageDir, "stages.yaml")
	if err := os.WriteFile(stageFile, []byte(stages), 0o644); err != nil {
		return err
	}
	os.Args = append([]string{os.Args[0], "--config=" + stageFile}, rest...)

	// Kubernetes' component-base registers a non-bool --version on the global
	// pflag set at init time; cobra merges that set into KWOK's command and then
	// fails reading it as a bool. KWOK runs alone in this process: start clean.
	pflag.CommandLine = pflag.NewFlagSet(os.Args[0], pflag.ExitOnError)

	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsAllowlist.UnknownFlags = true
	flagset.Usage = func() {}
	ctx := signals.SetupSignalContext()
	ctx, logger := log.InitFlags(ctx, flagset)
	ctx, err := config.InitFlags(ctx, flagset)
	if err != nil {
		return fmt.Errorf("kwok config: %w", err)
	}
	command := cmd.NewCommand(ctx)
	command.PersistentFlags().AddFlagSet(flagset)
	command.SetArgs(os.Args[1:])
	if err := command.ExecuteContext(ctx); err != nil {
		logger.Error("kwok exited", "err", err)
		return err
	}
	return nil
}
