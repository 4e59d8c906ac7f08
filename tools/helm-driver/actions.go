package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/postrender"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// common are the inputs every action has.
type common struct {
	Target target `json:"target"`
	// Namespace is the release namespace: where its objects go, and
	// .Release.Namespace.
	Namespace string `json:"namespace"`
	// StorageNamespace is where the release's Secrets live; the release
	// namespace when empty.
	StorageNamespace string `json:"storageNamespace,omitempty"`
	Name             string `json:"name"`
	TimeoutMs        int64  `json:"timeoutMs"`
}

type postRenderer struct {
	Path string   `json:"path"`
	Args []string `json:"args,omitempty"`
}

// chartInputs are the inputs of install and upgrade.
type chartInputs struct {
	common
	Chart                    string                 `json:"chart"`
	Values                   map[string]interface{} `json:"values"`
	NoHooks                  bool                   `json:"noHooks,omitempty"`
	DisableOpenAPIValidation bool                   `json:"disableOpenAPIValidation,omitempty"`
	SkipSchemaValidation     bool                   `json:"skipSchemaValidation,omitempty"`
	TakeOwnership            bool                   `json:"takeOwnership,omitempty"`
	PostRenderer             *postRenderer          `json:"postRenderer,omitempty"`
	Labels                   map[string]string      `json:"labels,omitempty"`
	Description              string                 `json:"description,omitempty"`
}

type installRequest struct {
	chartInputs
	CreateNamespace bool `json:"createNamespace,omitempty"`
	SkipCrds        bool `json:"skipCrds,omitempty"`
	Replace         bool `json:"replace,omitempty"`
}

type upgradeRequest struct {
	chartInputs
	HistoryMax    int  `json:"historyMax"`
	ReuseValues   bool `json:"reuseValues,omitempty"`
	Force         bool `json:"force,omitempty"`
	CleanupOnFail bool `json:"cleanupOnFail,omitempty"`
}

type rollbackRequest struct {
	common
	Revision      int  `json:"revision"`
	HistoryMax    int  `json:"historyMax"`
	Force         bool `json:"force,omitempty"`
	CleanupOnFail bool `json:"cleanupOnFail,omitempty"`
	NoHooks       bool `json:"noHooks,omitempty"`
	RecreatePods  bool `json:"recreatePods,omitempty"`
}

type uninstallRequest struct {
	common
	KeepHistory bool   `json:"keepHistory,omitempty"`
	NoHooks     bool   `json:"noHooks,omitempty"`
	Wait        bool   `json:"wait,omitempty"`
	Cascade     string `json:"cascade,omitempty"`
}

type testFilter struct {
	Name    string `json:"name"`
	Exclude bool   `json:"exclude,omitempty"`
}

type testRequest struct {
	common
	Filters []testFilter `json:"filters,omitempty"`
}

var debug = os.Getenv("SLUICE_HELM_DRIVER_DEBUG") != ""

func logf(format string, v ...interface{}) {
	if debug {
		fmt.Fprintf(os.Stderr, "helm-driver: "+format+"\n", v...)
	}
}

// config makes the action configuration of one request: the identity's
// cached clients, a kube client for the release namespace, and the Secrets
// storage in the storage namespace.
func (s *server) config(c common) (*action.Configuration, *kube.Client, *identity, error) {
	if c.Name == "" || c.Namespace == "" {
		return nil, nil, nil, fmt.Errorf("helm-driver: a request needs a release name and namespace")
	}
	id, err := s.ids.get(c.Target)
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
	d.Log = logf
	kc := &kube.Client{Factory: id.factory, Log: logf, Namespace: c.Namespace}
	cfg := &action.Configuration{
		RESTClientGetter: id,
		KubeClient:       kc,
		Releases:         storage.Init(d),
		Log:              logf,
		HookOutputFunc:   func(_, _, _ string) io.Writer { return io.Discard },
	}
	return cfg, kc, id, nil
}

// useStoredNamespace points the kube client at the namespace the stored
// release was made in: rollback, uninstall and test act on its objects.
func useStoredNamespace(cfg *action.Configuration, kc *kube.Client, name string) {
	if rel, err := cfg.Releases.Last(name); err == nil && rel.Namespace != "" {
		kc.Namespace = rel.Namespace
	}
}

func timeout(ms int64) time.Duration {
	if ms <= 0 {
		return 5 * time.Minute
	}
	return time.Duration(ms) * time.Millisecond
}

// loadChart loads a chart directory or archive and checks, as the helm CLI
// does before it acts, that its dependencies are all present.
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
	if req := ch.Metadata.Dependencies; req != nil {
		if err := action.CheckDependencies(ch, req); err != nil {
			return nil, fmt.Errorf("an error occurred while checking for chart dependencies; the chart needs `helm dependency build`: %w", err)
		}
	}
	return ch, nil
}

func newPostRenderer(p *postRenderer) (postrender.PostRenderer, error) {
	if p == nil || p.Path == "" {
		return nil, nil
	}
	return postrender.NewExec(p.Path, p.Args...)
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
// loaded chart (checked as the CLI checks it), the shared capability read
// and the post-renderer.
type chartAction struct {
	cfg   *action.Configuration
	chart *chart.Chart
	post  postrender.PostRenderer
}

func (s *server) prepareChart(r chartInputs, install, skipCrds bool) (*chartAction, error) {
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
	pr, err := newPostRenderer(r.PostRenderer)
	if err != nil {
		return nil, err
	}
	return &chartAction{cfg: cfg, chart: ch, post: pr}, nil
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
	a.DisableHooks, a.DisableOpenAPIValidation, a.SkipSchemaValidation, a.TakeOwnership = r.NoHooks, r.DisableOpenAPIValidation, r.SkipSchemaValidation, r.TakeOwnership
	a.PostRenderer, a.Labels, a.Description = p.post, r.Labels, r.Description
	return a.RunWithContext(ctx, p.chart, values(r.Values))
}

func (s *server) upgrade(ctx context.Context, r upgradeRequest) (interface{}, error) {
	p, err := s.prepareChart(r.chartInputs, false, false)
	if err != nil {
		return nil, err
	}
	a := action.NewUpgrade(p.cfg)
	a.Namespace = r.Namespace
	a.Timeout = timeout(r.TimeoutMs)
	a.MaxHistory = r.HistoryMax
	a.ReuseValues = r.ReuseValues
	a.ResetValues = !r.ReuseValues
	a.Force = r.Force
	a.CleanupOnFail = r.CleanupOnFail
	a.DisableHooks, a.DisableOpenAPIValidation, a.SkipSchemaValidation, a.TakeOwnership = r.NoHooks, r.DisableOpenAPIValidation, r.SkipSchemaValidation, r.TakeOwnership
	a.PostRenderer, a.Labels, a.Description = p.post, r.Labels, r.Description
	return a.RunWithContext(ctx, r.Name, p.chart, values(r.Values))
}

func (s *server) rollback(r rollbackRequest) error {
	cfg, kc, _, err := s.config(r.common)
	if err != nil {
		return err
	}
	useStoredNamespace(cfg, kc, r.Name)
	a := action.NewRollback(cfg)
	a.Version = r.Revision
	a.Timeout = timeout(r.TimeoutMs)
	a.MaxHistory = r.HistoryMax
	a.Force = r.Force
	a.CleanupOnFail = r.CleanupOnFail
	a.DisableHooks = r.NoHooks
	a.Recreate = r.RecreatePods
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
	a.Wait = r.Wait
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
		key := "name"
		if f.Exclude {
			key = "!name"
		}
		a.Filters[key] = append(a.Filters[key], f.Name)
	}
	rel, err := a.Run(r.Name)
	if err != nil {
		return nil, err
	}
	return rel, nil
}
