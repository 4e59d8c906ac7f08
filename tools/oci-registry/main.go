// Command oci-registry serves an in-memory OCI distribution registry
// (go-containerregistry's pkg/registry) on a loopback address, for Sluice's
// tests: helm push and pull talk to it over plain HTTP. With
// OCI_REGISTRY_USERNAME set, every request needs those basic-auth
// credentials (taken from the environment, so they never show in ps).
package main

import (
	"crypto/subtle"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback host:port to listen on (port 0 picks a free one)")
	verbose := flag.Bool("v", false, "log every request to stderr")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatalf("invalid -addr %q: %v", *addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		log.Fatalf("refusing to listen on %q: a test registry binds a loopback IP only", host)
	}

	logger := log.New(io.Discard, "", 0)
	if *verbose {
		logger = log.New(os.Stderr, "registry: ", log.LstdFlags)
	}
	var handler http.Handler = registry.New(registry.Logger(logger))
	if user := os.Getenv("OCI_REGISTRY_USERNAME"); user != "" {
		handler = basicAuth(handler, user, os.Getenv("OCI_REGISTRY_PASSWORD"))
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	// The first stdout line tells the caller where the registry is.
	fmt.Printf("listening on %s\n", ln.Addr().String())
	log.Fatal(http.Serve(ln, handler))
}

func basicAuth(next http.Handler, user, password string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="sluice-test-registry"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}
