// Command helm-driver runs Helm actions (install, upgrade, rollback,
// uninstall, test) with the Helm SDK for the Sluice controller, one request
// per line of JSON on stdin and one answer per line on stdout.
//
// It exists for two reasons. A long-lived process keeps discovery, the REST
// mapper and the parsed OpenAPI schema of each cluster identity in memory,
// where a helm CLI process per action fetches and parses them every time.
// And the SDK can keep a release's storage in a namespace other than the one
// it installs into (Flux's storageNamespace), which the CLI cannot.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sync"
	"time"
)

// request is one line of stdin. Op selects the action; the other fields are
// the action's inputs (see actions.go). A "cancel" op cancels request ID.
type request struct {
	ID  int64           `json:"id"`
	Op  string          `json:"op"`
	Raw json.RawMessage `json:"-"`
}

// response is one line of stdout: Result on success, Error (Helm's own
// message) on failure.
type response struct {
	ID     int64       `json:"id"`
	Result interface{} `json:"result,omitempty"`
	Error  string      `json:"error,omitempty"`
}

type server struct {
	out     *json.Encoder
	outMu   sync.Mutex
	cancels sync.Map // id -> context.CancelFunc
	ids     *identities
	running sync.WaitGroup
}

func (s *server) reply(r response) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	if err := s.out.Encode(r); err != nil {
		fmt.Fprintf(os.Stderr, "helm-driver: cannot write answer: %v\n", err)
		os.Exit(1)
	}
}

func (s *server) handle(line []byte) {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		fmt.Fprintf(os.Stderr, "helm-driver: unreadable request: %v\n", err)
		return
	}
	if req.Op == "cancel" {
		if c, ok := s.cancels.Load(req.ID); ok {
			c.(context.CancelFunc)()
		}
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancels.Store(req.ID, cancel)
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		defer func() {
			s.cancels.Delete(req.ID)
			cancel()
			if p := recover(); p != nil {
				s.reply(response{ID: req.ID, Error: fmt.Sprintf("helm-driver: %s failed unexpectedly: %v", req.Op, p)})
			}
		}()
		result, err := s.run(ctx, req.Op, line)
		if err != nil {
			s.reply(response{ID: req.ID, Error: err.Error()})
			return
		}
		s.reply(response{ID: req.ID, Result: result})
	}()
}

func main() {
	// SLUICE_HELM_DRIVER_CPUPROFILE=FILE writes a Go CPU profile of the
	// driver's whole life there, for benchmarks.
	if path := os.Getenv("SLUICE_HELM_DRIVER_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() {
				pprof.StopCPUProfile()
				f.Close()
			}()
		}
	}
	s := &server{out: json.NewEncoder(os.Stdout), ids: newIdentities()}
	go exitWithParent(os.Getppid())
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 1 {
			s.handle(line)
		}
		if err == io.EOF {
			// The controller closed our stdin: it is stopping. Actions under
			// way finish, so no release is left pending, then we go too.
			s.running.Wait()
			return // deferred: the profile is written
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "helm-driver: reading requests: %v\n", err)
			return
		}
	}
}

// exitWithParent ends the driver at once when the controller that started it
// dies without stopping it (SIGKILL, the OOM killer): its stdin then closes
// as on an orderly stop, but nobody waits for the answers any more, and the
// controller that takes over (after a restart, or another replica after a
// leader election) will find the release pending and unlock it. An action
// finished here meanwhile would be a second writer of the same release.
// Outside a container nothing else ends us: a pod's processes all die
// together, a bare process's children do not.
func exitWithParent(ppid int) {
	for {
		time.Sleep(250 * time.Millisecond)
		if os.Getppid() != ppid {
			fmt.Fprintln(os.Stderr, "helm-driver: the controller is gone; stopping without finishing the actions under way")
			os.Exit(3)
		}
	}
}
