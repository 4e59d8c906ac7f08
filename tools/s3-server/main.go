// Command s3-server serves an in-memory S3-compatible object store
// (gofakes3 with its memory backend) on a loopback address, for the tests of
// Sluice's Bucket source. Every request must be signed with AWS Signature
// Version 4 for the access key and secret given in the environment
// (S3_ACCESS_KEY, S3_SECRET_KEY; never on the command line): the signature
// is computed again here with the AWS SDK's own signer and compared, so a
// client that signs wrongly, or with the wrong secret, gets S3's 403
// SignatureDoesNotMatch, as from a real service.
package main

import (
	"context"
	"crypto/subtle"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback host:port to listen on (port 0 picks a free one)")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatalf("invalid -addr %q: %v", *addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		log.Fatalf("refusing to listen on %q: a test server binds a loopback IP only", host)
	}
	accessKey, secretKey := os.Getenv("S3_ACCESS_KEY"), os.Getenv("S3_SECRET_KEY")
	if accessKey == "" || secretKey == "" {
		log.Fatal("S3_ACCESS_KEY and S3_SECRET_KEY must be set")
	}
	faker := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	handler := verifySigV4(faker.Server(), accessKey, secretKey)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	// The first stdout line tells the caller where the server is.
	fmt.Printf("listening on %s\n", ln.Addr().String())
	log.Fatal(http.Serve(ln, handler))
}

var authRe = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$`)

func deny(w http.ResponseWriter, code, message string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusForbidden)
	_, _ = io.WriteString(w, fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, message))
}

func verifySigV4(next http.Handler, accessKey, secretKey string) http.Handler {
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := authRe.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil {
			deny(w, "AccessDenied", "Access Denied")
			return
		}
		if subtle.ConstantTimeCompare([]byte(m[1]), []byte(accessKey)) != 1 {
			deny(w, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
			return
		}
		signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		if err != nil || time.Since(signedAt).Abs() > 15*time.Minute {
			deny(w, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
			return
		}
		// The same request with only the headers the client signed, signed again here.
		clone := r.Clone(context.Background())
		clone.Header = http.Header{}
		// The SDK signs Content-Length whenever it is set: only when the client signed it too.
		clone.ContentLength = 0
		for _, h := range strings.Split(m[4], ";") {
			if h == "host" {
				continue
			}
			if h == "content-length" {
				clone.ContentLength = r.ContentLength
				continue
			}
			for _, v := range r.Header.Values(h) {
				clone.Header.Add(h, v)
			}
		}
		payload := r.Header.Get("X-Amz-Content-Sha256")
		if payload == "" {
			payload = "UNSIGNED-PAYLOAD"
		}
		creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
		if err := signer.SignHTTP(context.Background(), creds, clone, payload, "s3", m[3], signedAt); err != nil {
			deny(w, "AccessDenied", "Access Denied")
			return
		}
		want := authRe.FindStringSubmatch(clone.Header.Get("Authorization"))
		if want == nil || subtle.ConstantTimeCompare([]byte(want[5]), []byte(m[5])) != 1 {
			deny(w, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
			return
		}
		next.ServeHTTP(w, r)
	})
}
