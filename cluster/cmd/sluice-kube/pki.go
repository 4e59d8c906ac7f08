package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// runPKI writes everything the control plane needs to run with real TLS,
// client-certificate authentication and service-account tokens. Keys are
// kept when they already exist so kubeconfigs stay valid across restarts;
// kubeconfigs are rewritten every time because the API server's port may move.
func runPKI(args []string) error {
	fs := flag.NewFlagSet("pki", flag.ContinueOnError)
	dir := fs.String("dir", "", "output directory (required)")
	server := fs.String("server", "", "API server URL for the kubeconfigs, e.g. https://127.0.0.1:6443 (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *server == "" {
		return errors.New("--dir and --server are required")
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	p := pkiDir(*dir)

	caCert, caKey, err := p.ca()
	if err != nil {
		return err
	}
	serving := certSpec{
		cn:       "kube-apiserver",
		dns:      []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		ips:      []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.ParseIP("10.0.0.1")},
		usage:    x509.ExtKeyUsageServerAuth,
		filename: "apiserver",
	}
	if err := p.leaf(serving, caCert, caKey); err != nil {
		return err
	}
	if err := p.serviceAccountKey(); err != nil {
		return err
	}
	// One client identity per component, with the groups RBAC's bootstrap
	// policy expects; the admin is in system:masters and may impersonate.
	clients := []struct{ file, cn, org string }{
		{"admin", "kubernetes-admin", "system:masters"},
		{"controller-manager", "system:kube-controller-manager", ""},
		{"scheduler", "system:kube-scheduler", ""},
		{"kwok", "system:kwok-controller", "system:masters"},
		{"volume-provisioner", "system:sluice-volume-provisioner", "system:masters"},
	}
	caPEM, err := os.ReadFile(filepath.Join(*dir, "ca.crt"))
	if err != nil {
		return err
	}
	for _, c := range clients {
		spec := certSpec{cn: c.cn, usage: x509.ExtKeyUsageClientAuth, filename: c.file}
		if c.org != "" {
			spec.orgs = []string{c.org}
		}
		if err := p.leaf(spec, caCert, caKey); err != nil {
			return err
		}
		if err := p.kubeconfig(c.file, *server, caPEM); err != nil {
			return err
		}
	}
	return nil
}

type pkiDir string

type certSpec struct {
	cn       string
	orgs     []string
	dns      []string
	ips      []net.IP
	usage    x509.ExtKeyUsage
	filename string
}

func (p pkiDir) path(name string) string { return filepath.Join(string(p), name) }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (p pkiDir) ca() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	if exists(p.path("ca.crt")) && exists(p.path("ca.key")) {
		return loadPair(p.path("ca.crt"), p.path("ca.key"))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "sluice-local-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	if err := writeCert(p.path("ca.crt"), der); err != nil {
		return nil, nil, err
	}
	if err := writeECKey(p.path("ca.key"), key); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func (p pkiDir) leaf(s certSpec, ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	crt, keyPath := p.path(s.filename+".crt"), p.path(s.filename+".key")
	if exists(crt) && exists(keyPath) {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: s.cn, Organization: s.orgs},
		DNSNames:     s.dns,
		IPAddresses:  s.ips,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{s.usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	if err := writeCert(crt, der); err != nil {
		return err
	}
	return writeECKey(keyPath, key)
}

// serviceAccountKey writes the RSA pair the API server signs and verifies
// service-account tokens with.
func (p pkiDir) serviceAccountKey() error {
	if exists(p.path("sa.key")) && exists(p.path("sa.pub")) {
		return nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	if err := os.WriteFile(p.path("sa.key"), priv, 0o600); err != nil {
		return err
	}
	return os.WriteFile(p.path("sa.pub"), pub, 0o644)
}

func (p pkiDir) kubeconfig(name, server string, caPEM []byte) error {
	crt, err := os.ReadFile(p.path(name + ".crt"))
	if err != nil {
		return err
	}
	key, err := os.ReadFile(p.path(name + ".key"))
	if err != nil {
		return err
	}
	b64 := base64.StdEncoding.EncodeToString
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: sluice-local
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: sluice-local
  context:
    cluster: sluice-local
    user: %s
current-context: sluice-local
`, server, b64(caPEM), name, b64(crt), b64(key), name)
	return os.WriteFile(p.path(name+".kubeconfig"), []byte(cfg), 0o600)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err)
	}
	return n
}

func writeCert(path string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeECKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

func loadPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cblock, _ := pem.Decode(cb)
	kblock, _ := pem.Decode(kb)
	if cblock == nil || kblock == nil {
		return nil, nil, fmt.Errorf("%s or %s is not PEM", certPath, keyPath)
	}
	cert, err := x509.ParseCertificate(cblock.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kblock.Bytes)
	return cert, key, err
}
