package main

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/validation"

	"helm.sh/helm/v4/pkg/kube"
)

// target says which cluster and as whom: a kubeconfig's content (never a
// path: it is not written to disk) and an identity to impersonate.
type target struct {
	Kubeconfig string   `json:"kubeconfig"`
	AsUser     string   `json:"asUser,omitempty"`
	AsGroups   []string `json:"asGroups,omitempty"`
}

func (t target) key() string {
	h := sha256.New()
	h.Write([]byte(t.Kubeconfig))
	h.Write([]byte{0})
	h.Write([]byte(t.AsUser))
	for _, g := range t.AsGroups {
		h.Write([]byte{0})
		h.Write([]byte(g))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// identity holds what is worth keeping between actions for one target: the
// REST config, a memory-cached discovery client and REST mapper, the
// kubectl factory (which parses the OpenAPI schema once), and a clientset.
type identity struct {
	config    *rest.Config
	loader    clientcmd.ClientConfig
	discovery discovery.CachedDiscoveryInterface
	mapper    meta.RESTMapper
	factory   kube.Factory
	caps      capabilities
}

// The getter interface helm and kubectl's factory read clients from.
func (i *identity) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(i.config), nil }
func (i *identity) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return i.discovery, nil
}
func (i *identity) ToRESTMapper() (meta.RESTMapper, error)        { return i.mapper, nil }
func (i *identity) ToRawKubeConfigLoader() clientcmd.ClientConfig { return i.loader }

var _ genericclioptions.RESTClientGetter = (*identity)(nil)

type identities struct {
	mu   sync.Mutex
	byID map[string]*identity
}

func newIdentities() *identities { return &identities{byID: map[string]*identity{}} }

// get returns the cached identity for a target, making it on first use.
func (s *identities) get(t target) (*identity, error) {
	k := t.key()
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byID[k]; ok {
		return id, nil
	}
	id, err := newIdentity(t)
	if err != nil {
		return nil, err
	}
	s.byID[k] = id
	return id, nil
}

// newIdentity makes the clients of a target, with nothing read yet.
func newIdentity(t target) (*identity, error) {
	loader, err := clientcmd.NewClientConfigFromBytes([]byte(t.Kubeconfig))
	if err != nil {
		return nil, err
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, err
	}
	if t.AsUser != "" {
		cfg.Impersonate = rest.ImpersonationConfig{UserName: t.AsUser, Groups: t.AsGroups}
	}
	// One process serves every release of the controller: client-go's
	// default of 5 requests/s would queue them all behind each other. The
	// API server's own priority and fairness is the limit that counts.
	cfg.QPS = 500
	cfg.Burst = 1000
	cfg.UserAgent = "sluice-helm-driver"
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	cached := memory.NewMemCacheClient(dc)
	id := &identity{
		config:    cfg,
		loader:    loader,
		discovery: cached,
		mapper:    restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(cached), cached, nil),
	}
	id.factory = &cachingFactory{Factory: cmdutil.NewFactory(id)}
	return id, nil
}

// cachingFactory keeps one validator per directive and one clientset:
// kubectl's factory makes new ones on every call, and a new validator
// fetches the OpenAPI v3 documents again.
type cachingFactory struct {
	kube.Factory
	mu         sync.Mutex
	validators map[string]validation.Schema
	clientset  *kubernetes.Clientset
}

func (f *cachingFactory) Validator(directive string) (validation.Schema, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.validators[directive]; ok {
		return v, nil
	}
	v, err := f.Factory.Validator(directive)
	if err != nil {
		return nil, err
	}
	if f.validators == nil {
		f.validators = map[string]validation.Schema{}
	}
	f.validators[directive] = v
	return v, nil
}

func (f *cachingFactory) KubernetesClientSet() (*kubernetes.Clientset, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.clientset == nil {
		cs, err := f.Factory.KubernetesClientSet()
		if err != nil {
			return nil, err
		}
		f.clientset = cs
	}
	return f.clientset, nil
}
