package main

import (
	"fmt"
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/action"
	chartcommon "helm.sh/helm/v4/pkg/chart/common"
)

// capabilityFetch is one read of the cluster's version and API groups.
type capabilityFetch struct {
	started time.Time
	done    chan struct{}
	caps    *chartcommon.Capabilities
	err     error
}

// capabilities reads .Capabilities for the actions of one identity. Helm
// reads them afresh for every action, after dropping its discovery cache;
// with one shared cache, concurrent actions would queue behind each other's
// re-reads. Here an action waits for a read that began after it asked, and
// every action asking meanwhile shares that read: each still sees the
// cluster as it was when it started, or later.
type capabilities struct {
	mu  sync.Mutex
	cur *capabilityFetch
}

func (c *capabilities) get(id *identity) (*chartcommon.Capabilities, error) {
	asked := time.Now()
	for {
		c.mu.Lock()
		f := c.cur
		if f != nil && !f.started.Before(asked) {
			c.mu.Unlock()
			<-f.done
			return f.caps, f.err
		}
		if f != nil {
			select {
			case <-f.done:
				// Finished, but began before we asked: read again below.
			default:
				// Under way since before we asked: wait for it, then look again.
				c.mu.Unlock()
				<-f.done
				continue
			}
		}
		f = &capabilityFetch{started: time.Now(), done: make(chan struct{})}
		c.cur = f
		c.mu.Unlock()
		f.caps, f.err = readCapabilities(id)
		close(f.done)
		return f.caps, f.err
	}
}

// readCapabilities does what helm's own (unexported) capability read does.
func readCapabilities(id *identity) (*chartcommon.Capabilities, error) {
	id.discovery.Invalidate()
	v, err := id.discovery.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("could not get server version from Kubernetes: %w", err)
	}
	versions, err := action.GetVersionSet(id.discovery)
	if err != nil {
		return nil, fmt.Errorf("could not get apiVersions from Kubernetes: %w", err)
	}
	return &chartcommon.Capabilities{
		APIVersions: versions,
		KubeVersion: chartcommon.KubeVersion{Version: v.GitVersion, Major: v.Major, Minor: v.Minor},
		HelmVersion: chartcommon.DefaultCapabilities.HelmVersion,
	}, nil
}
