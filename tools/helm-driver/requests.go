package main

import (
	"fmt"

	"helm.sh/helm/v4/pkg/kube"
)

// The requests the controller sends, one type per operation, as JSON.

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
	// FreshClient asks for API clients of this action's own instead of the
	// identity's cached ones: discovery, REST mapper and OpenAPI schema are
	// read anew (Flux's persistentClient: false).
	FreshClient bool `json:"freshClient,omitempty"`
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
	// PostRenderStrategy is which manifests the post-renderer gets:
	// "combined" (templates and hooks in one stream, Helm 4's default),
	// "separate" or "nohooks" (Helm 3's way).
	PostRenderStrategy string            `json:"postRenderStrategy,omitempty"`
	Labels             map[string]string `json:"labels,omitempty"`
	Description        string            `json:"description,omitempty"`
	// DryRun renders the release as the action would make it, with the
	// templates' lookups answered by the cluster, and changes nothing: no
	// object applied, no revision stored (sluice diff hr).
	DryRun bool `json:"dryRun,omitempty"`
	waiting
}

// waiting says how Helm itself waits for the objects it applied: by
// default ("hookOnly") only for hooks, the controller waiting for the rest
// with its shared caches; "legacy" is Helm 3's polling wait, "watcher"
// Helm 4's kstatus watches.
type waiting struct {
	WaitStrategy string `json:"waitStrategy,omitempty"`
	WaitForJobs  bool   `json:"waitForJobs,omitempty"`
}

func (w waiting) strategy() (kube.WaitStrategy, error) {
	switch w.WaitStrategy {
	case "", string(kube.HookOnlyStrategy):
		return kube.HookOnlyStrategy, nil
	case string(kube.LegacyStrategy), string(kube.StatusWatcherStrategy):
		return kube.WaitStrategy(w.WaitStrategy), nil
	}
	return "", fmt.Errorf("helm-driver: unknown wait strategy %q: use hookOnly, legacy or watcher", w.WaitStrategy)
}

type installRequest struct {
	chartInputs
	// ServerSideApply is on unless false is sent, as in Helm 4.
	ServerSideApply *bool `json:"serverSideApply,omitempty"`
	CreateNamespace bool  `json:"createNamespace,omitempty"`
	SkipCrds        bool  `json:"skipCrds,omitempty"`
	Replace         bool  `json:"replace,omitempty"`
}

type upgradeRequest struct {
	chartInputs
	// ServerSideApply is "true", "false" or "auto" (as the last release was
	// applied; a Helm 3 release was applied client-side), "auto" if unset.
	ServerSideApply string `json:"serverSideApply,omitempty"`
	HistoryMax      int    `json:"historyMax"`
	ReuseValues     bool   `json:"reuseValues,omitempty"`
	Force           bool   `json:"force,omitempty"`
	CleanupOnFail   bool   `json:"cleanupOnFail,omitempty"`
}

type rollbackRequest struct {
	common
	waiting
	Revision int `json:"revision"`
	// ServerSideApply as for upgrade; "auto" follows the revision rolled back to.
	ServerSideApply string `json:"serverSideApply,omitempty"`
	HistoryMax      int    `json:"historyMax"`
	Force           bool   `json:"force,omitempty"`
	CleanupOnFail   bool   `json:"cleanupOnFail,omitempty"`
	NoHooks         bool   `json:"noHooks,omitempty"`
}

type uninstallRequest struct {
	common
	KeepHistory bool `json:"keepHistory,omitempty"`
	NoHooks     bool `json:"noHooks,omitempty"`
	// Wait until the objects are gone (with Helm's watcher, or its legacy
	// poller when WaitStrategy is "legacy").
	Wait         bool   `json:"wait,omitempty"`
	WaitStrategy string `json:"waitStrategy,omitempty"`
	Cascade      string `json:"cascade,omitempty"`
}

type testFilter struct {
	Name    string `json:"name"`
	Exclude bool   `json:"exclude,omitempty"`
}

type testRequest struct {
	common
	Filters []testFilter `json:"filters,omitempty"`
}
