package main

import (
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/kube"
)

// kubeClient is Helm's kube client with one change: a "hookOnly" waiter
// (what every action gets unless Helm itself is to wait for the objects) is
// made only when a hook is actually waited for. Helm 4 makes a status
// watcher, with a REST mapper of its own, for every waiter it hands out;
// most releases have no hooks, and the controller waits for their objects
// with its shared caches.
type kubeClient struct {
	*kube.Client
}

var _ kube.InterfaceWaitOptions = (*kubeClient)(nil)

func newKubeClient(f kube.Factory, namespace string) *kubeClient {
	c := &kube.Client{Factory: f, Namespace: namespace}
	c.SetLogger(logs)
	return &kubeClient{Client: c}
}

func (c *kubeClient) GetWaiter(ws kube.WaitStrategy) (kube.Waiter, error) {
	return c.GetWaiterWithOptions(ws)
}

func (c *kubeClient) GetWaiterWithOptions(ws kube.WaitStrategy, opts ...kube.WaitOption) (kube.Waiter, error) {
	if ws != kube.HookOnlyStrategy {
		return c.Client.GetWaiterWithOptions(ws, opts...)
	}
	return &lazyHookWaiter{make: func() (kube.Waiter, error) { return c.Client.GetWaiterWithOptions(ws, opts...) }}, nil
}

// lazyHookWaiter waits for hooks only, as Helm's hookOnly waiter does, and
// makes that waiter on first use.
type lazyHookWaiter struct {
	make func() (kube.Waiter, error)
	once sync.Once
	w    kube.Waiter
	err  error
}

func (l *lazyHookWaiter) WatchUntilReady(resources kube.ResourceList, timeout time.Duration) error {
	l.once.Do(func() { l.w, l.err = l.make() })
	if l.err != nil {
		return l.err
	}
	return l.w.WatchUntilReady(resources, timeout)
}

func (l *lazyHookWaiter) Wait(kube.ResourceList, time.Duration) error         { return nil }
func (l *lazyHookWaiter) WaitWithJobs(kube.ResourceList, time.Duration) error { return nil }
func (l *lazyHookWaiter) WaitForDelete(kube.ResourceList, time.Duration) error {
	return nil
}
