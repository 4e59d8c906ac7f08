package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

// execPostRenderer runs an executable with the rendered manifests on stdin
// and takes its stdout as the manifests to apply: Helm 3's exec
// post-renderer, which Helm 4 replaced with plugins. The controller writes
// the executable (kustomize with the HelmRelease's patches and labels).
type execPostRenderer struct {
	path string
	args []string
}

func newExecPostRenderer(p *postRenderer) *execPostRenderer {
	if p == nil || p.Path == "" {
		return nil
	}
	return &execPostRenderer{path: p.Path, args: p.Args}
}

func (e *execPostRenderer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	hadInput := len(bytes.TrimSpace(in.Bytes())) > 0
	cmd := exec.Command(e.path, e.args...)
	cmd.Stdin = in
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("error while running post render on files: %s", msg)
	}
	// An empty stream from manifests would make Helm delete everything;
	// that is never what a post-renderer of Sluice's means.
	if hadInput && len(bytes.TrimSpace(out.Bytes())) == 0 {
		return nil, fmt.Errorf("post-renderer %s returned no manifests", e.path)
	}
	return &out, nil
}
