package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"helm.sh/helm/v4/pkg/action"
	ci "helm.sh/helm/v4/pkg/chart"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/kube"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
)

// logs is where Helm's own log lines go: stderr with
// SLUICE_HELM_DRIVER_DEBUG set, nowhere otherwise.
var logs slog.Handler = slog.DiscardHandler

func init() {
	if os.Getenv("SLUICE_HELM_DRIVER_DEBUG") != "" {
		logs = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	// The field manager of what Helm applies, as in Flux: Sluice's drift
	// correction applies as helm-controller too, so one manager owns the
	// release's fields whichever of the two wrote them last.
	kube.ManagedFieldsManager = "helm-controller"
}

// config makes the action configuration of one request: the identity's
// cached clients, a kube client for the release namespace, and the Secrets
// storage in the storage namespace.
func (s *server) config(c common) (*action.Configuration, *kubeClient, *identity, error) {
	if c.Name == "" || c.Namespace == "" {
		return nil, nil, nil, fmt.Errorf("helm-driver: a request needs a release name and namespace")
	}
	var id *identity
	var err error
	if c.FreshClient {
		id, err = newIdentity(c.Target)
	} else {
		id, err = s.ids.get(c.Target)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cs, err := id.factory.KubernetesClientSet()
	if err != nil {
		return nil, nil, nil, err
	}
	storageNs := c.StorageNamespace
	if storageNs == "" {
		storageNs = c.Namespace
	}
	d := driver.NewSecrets(cs.CoreV1().Secrets(storageNs))
	d.SetLogger(logs)
	kc := newKubeClient(id.factory, c.Namespace)
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(logs))
	cfg.RESTClientGetter = id
	cfg.KubeClient = kc
	cfg.Releases = storage.Init(d)
	cfg.Releases.SetLogger(logs)
	cfg.HookOutputFunc = func(_, _, _ string) io.Writer { return io.Discard }
	return cfg, kc, id, nil
}

// lastRelease is the newest stored revision of a release, typed.
func lastRelease(cfg *action.Configuration, name string) (*release.Release, error) {
	r, err := cfg.Releases.Last(name)
	if err != nil {
		return nil, err
	}
	rel, ok := r.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("release %s is not a Helm v1 release record", name)
	}
	return rel, nil
}

// useStoredNamespace points the kube client at the namespace the stored
// release was made in: rollback, uninstall and test act on its objects.
func useStoredNamespace(cfg *action.Configuration, kc *kubeClient, name string) {
	if rel, err := lastRelease(cfg, name); err == nil && rel.Namespace != "" {
		kc.Namespace = rel.Namespace
	}
}

func timeout(ms int64) time.Duration {
	if ms <= 0 {
		return 5 * time.Minute
	}
	return time.Duration(ms) * time.Millisecond
}

// loadChart loads a chart directory or archive (chart API v2, the only one
// a Helm 3 or Flux chart can be) and checks, as the helm CLI does before it
// acts, that its dependencies are all present.
func loadChart(path string, forInstall bool) (*chart.Chart, error) {
	ch, err := loader.Load(path)
	if err != nil {
		return nil, err
	}
	if forInstall {
		switch ch.Metadata.Type {
		case "", "application":
		default:
			return nil, fmt.Errorf("%s charts are not installable", ch.Metadata.Type)
		}
	}
	if deps := ch.Metadata.Dependencies; len(deps) > 0 {
		req := make([]ci.Dependency, len(deps))
		for i, d := range deps {
			req[i] = d
		}
		if err := action.CheckDependencies(ch, req); err != nil {
			return nil, fmt.Errorf("an error occurred while checking for chart dependencies; the chart needs `helm dependency build`: %w", err)
		}
	}
	return ch, nil
}

func postRenderStrategy(s string) (action.PostRenderStrategy, error) {
	switch action.PostRenderStrategy(s) {
	case "":
		return action.PostRenderStrategyCombined, nil
	case action.PostRenderStrategyCombined, action.PostRenderStrategySeparate, action.PostRenderStrategyNoHooks:
		return action.PostRenderStrategy(s), nil
	}
	return "", fmt.Errorf("helm-driver: unknown post-render strategy %q: use combined, separate or nohooks", s)
}

// ssaMode checks an upgrade's or rollback's server-side apply setting.
func ssaMode(s string) (string, error) {
	switch s {
	case "":
		return "auto", nil
	case "auto", "true", "false":
		return s, nil
	}
	return "", fmt.Errorf("helm-driver: server-side apply must be true, false or auto, not %q", s)
}

// resolveSSA says whether "auto" means server-side apply: it does when the
// release it follows was applied server-side. Helm 3 releases (no apply
// method recorded) were applied client-side and stay so until asked.
func resolveSSA(mode string, basis *release.Release) bool {
	if mode == "auto" {
		return basis != nil && basis.ApplyMethod == string(release.ApplyMethodServerSideApply)
	}
	return mode == "true"
}

func decode(line []byte, into interface{}) error {
	if err := json.Unmarshal(line, into); err != nil {
		return fmt.Errorf("helm-driver: malformed request: %w", err)
	}
	return nil
}

func values(v map[string]interface{}) map[string]interface{} {
	if v == nil {
		return map[string]interface{}{}
	}
	return v
}

func (s *server) run(ctx context.Context, op string, line []byte) (interface{}, error) {
	switch op {
	case "install":
		var r installRequest
		if err := decode(line, &r); err != nil {
			return nil, err
		}
		return s.install(ctx, r)
	case "upgrade":
		var r upgradeRequest
		if err := decode(line, &r); err != nil {
			return nil, err
		}
		return s.upgrade(ctx, r)
	case "rollback":
		var r rollbackRequest
		if err := decode(line, &r); err != nil {
			return nil, err
		}
		return nil, s.rollback(r)
	case "uninstall":
		var r uninstallRequest
		if err := decode(line, &r); err != nil {
			return nil, err
		}
		return nil, s.uninstall(r)
	case "test":
		var r testRequest
		if err := decode(line, &r); err != nil {
			return nil, err
		}
		return s.test(r)
	case "ping":
		return "pong", nil
	}
	return nil, fmt.Errorf("helm-driver: unknown operation %q", op)
}

// chartAction is what install and upgrade share: the configuration, the
// loaded chart (checked as the CLI checks it), the shared capability read,
// the post-renderer and how Helm waits.
type chartAction struct {
	cfg      *action.Configuration
	chart    *chart.Chart
	post     *execPostRenderer
	strategy action.PostRenderStrategy
	wait     kube.WaitStrategy
}

func (s *server) prepareChart(r chartInputs, install, skipCrds bool) (*chartAction, error) {
	wait, err := r.waiting.strategy()
	if err != nil {
		return nil, err
	}
	strategy, err := postRenderStrategy(r.PostRenderStrategy)
	if err != nil {
		return nil, err
	}
	cfg, _, id, err := s.config(r.common)
	if err != nil {
		return nil, err
	}
	ch, err := loadChart(r.Chart, install)
	if err != nil {
		return nil, err
	}
	// Helm installs a chart's crds/ first and reads the capabilities after
	// them; only without such CRDs may the shared read stand in for its own.
	if !install || skipCrds || len(ch.CRDObjects()) == 0 {
		if cfg.Capabilities, err = id.caps.get(id); err != nil {
			return nil, err
		}
	}
	return &chartAction{cfg: cfg, chart: ch, post: newExecPostRenderer(r.PostRenderer), strategy: strategy, wait: wait}, nil
}

func (s *server) install(ctx context.Context, r installRequest) (interface{}, error) {
	p, err := s.prepareChart(r.chartInputs, true, r.SkipCrds)
	if err != nil {
		return nil, err
	}
	a := action.NewInstall(p.cfg)
	a.ReleaseName = r.Name
	a.Namespace = r.Namespace
	a.Timeout = timeout(r.TimeoutMs)
	a.CreateNamespace = r.CreateNamespace
	a.SkipCRDs = r.SkipCrds
	a.Replace = r.Replace
	a.ServerSideApply = r.ServerSideApply == nil || *r.ServerSideApply
	// Server-side apply always forces conflicts, as Flux does: the chart is
	// the truth, whoever else wrote a field.
	a.ForceConflicts = a.ServerSideApply
	a.WaitStrategy, a.WaitForJobs = p.wait, r.WaitForJobs
	a.DisableHooks, a.DisableOpenAPIValidation, a.SkipSchemaValidation, a.TakeOwnership = r.NoHooks, r.DisableOpenAPIValidation, r.SkipSchemaValidation, r.TakeOwnership
	a.PostRenderStrategy, a.Labels, a.Description = p.strategy, r.Labels, r.Description
	if p.post != nil {
		a.PostRenderer = p.post
	}
	if r.DryRun {
		a.DryRunStrategy = action.DryRunServer
	}
	return a.RunWithContext(ctx, p.chart, values(r.Values))
}

func (s *server) upgrade(ctx context.Context, r upgradeRequest) (interface{}, error) {
	mode, err := ssaMode(r.ServerSideApply)
	if err != nil {
		return nil, err
	}
	p, err := s.prepareChart(r.chartInputs, false, false)
	if err != nil {
		return nil, err
	}
	last, err := lastRelease(p.cfg, r.Name)
	if err != nil {
		if errors.Is(err, driver.ErrReleaseNotFound) {
			return nil, driver.NewErrNoDeployedReleases(r.Name)
		}
		return nil, err
	}
	ssa := resolveSSA(mode, last)
	a := action.NewUpgrade(p.cfg)
	a.Namespace = r.Namespace
	a.Timeout = timeout(r.TimeoutMs)
	a.MaxHistory = r.HistoryMax
	a.ReuseValues = r.ReuseValues
	a.ResetValues = !r.ReuseValues
	a.ForceReplace = r.Force
	a.ServerSideApply, a.ForceConflicts = fmt.Sprint(ssa), ssa
	a.CleanupOnFail = r.CleanupOnFail
	a.WaitStrategy, a.WaitForJobs = p.wait, r.WaitForJobs
	a.DisableHooks, a.DisableOpenAPIValidation, a.SkipSchemaValidation, a.TakeOwnership = r.NoHooks, r.DisableOpenAPIValidation, r.SkipSchemaValidation, r.TakeOwnership
	a.PostRenderStrategy, a.Labels, a.Description = p.strategy, r.Labels, r.Description
	if p.post != nil {
		a.PostRenderer = p.post
	}
	if r.DryRun {
		a.DryRunStrategy = action.DryRunServer
	}
	return a.RunWithContext(ctx, r.Name, p.chart, values(r.Values))
}

func (s *server) rollback(r rollbackRequest) error {
	wait, err := r.waiting.strategy()
	if err != nil {
		return err
	}
	mode, err := ssaMode(r.ServerSideApply)
	if err != nil {
		return err
	}
	cfg, kc, _, err := s.config(r.common)
	if err != nil {
		return err
	}
	useStoredNamespace(cfg, kc, r.Name)
	// "auto" follows the revision rolled back to; Helm decides the same way,
	// but the conflicts are forced only if it is known here.
	var basis *release.Release
	if mode == "auto" {
		target := r.Revision
		if target == 0 {
			if cur, err := lastRelease(cfg, r.Name); err == nil {
				target = cur.Version - 1
			}
		}
		if got, err := cfg.Releases.Get(r.Name, target); err == nil {
			basis, _ = got.(*release.Release)
		}
	}
	ssa := resolveSSA(mode, basis)
	a := action.NewRollback(cfg)
	a.Version = r.Revision
	a.Timeout = timeout(r.TimeoutMs)
	a.MaxHistory = r.HistoryMax
	a.ForceReplace = r.Force
	a.ServerSideApply, a.ForceConflicts = fmt.Sprint(ssa), ssa
	a.CleanupOnFail = r.CleanupOnFail
	a.DisableHooks = r.NoHooks
	a.WaitStrategy, a.WaitForJobs = wait, r.WaitForJobs
	return a.Run(r.Name)
}

func (s *server) uninstall(r uninstallRequest) error {
	cfg, kc, _, err := s.config(r.common)
	if err != nil {
		return err
	}
	useStoredNamespace(cfg, kc, r.Name)
	a := action.NewUninstall(cfg)
	a.IgnoreNotFound = true
	a.Timeout = timeout(r.TimeoutMs)
	a.KeepHistory = r.KeepHistory
	a.DisableHooks = r.NoHooks
	switch {
	case !r.Wait:
		a.WaitStrategy = kube.HookOnlyStrategy
	case r.WaitStrategy == string(kube.LegacyStrategy):
		a.WaitStrategy = kube.LegacyStrategy
	default:
		a.WaitStrategy = kube.StatusWatcherStrategy
	}
	switch r.Cascade {
	case "", "background":
		a.DeletionPropagation = "background"
	case "foreground", "orphan":
		a.DeletionPropagation = r.Cascade
	default:
		return fmt.Errorf("invalid cascade value %q: use background, foreground or orphan", r.Cascade)
	}
	_, err = a.Run(r.Name)
	return err
}

func (s *server) test(r testRequest) (interface{}, error) {
	cfg, kc, _, err := s.config(r.common)
	if err != nil {
		return nil, err
	}
	useStoredNamespace(cfg, kc, r.Name)
	a := action.NewReleaseTesting(cfg)
	a.Namespace = kc.Namespace
	a.Timeout = timeout(r.TimeoutMs)
	a.Filters = map[string][]string{}
	for _, f := range r.Filters {
		key := action.IncludeNameFilter
		if f.Exclude {
			key = action.ExcludeNameFilter
		}
		a.Filters[key] = append(a.Filters[key], f.Name)
	}
	rel, shutdown, err := a.Run(r.Name)
	// The shutdown deletes the hooks whose policy says so once they ran.
	if shutdown != nil {
		if serr := shutdown(); err == nil && serr != nil {
			err = serr
		}
	}
	if err != nil {
		return nil, err
	}
	return rel, nil
}
