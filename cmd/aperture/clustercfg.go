package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ClusterConfig is how a node joins a cluster (serve --cluster).
type ClusterConfig struct {
	On      bool
	Node    string
	Listen  string
	Routes  string
	Secret  string
	Client  string
	TLSCert string
	TLSKey  string
	TLSCA   string
}

type strFlag func(p *string, flagName, env, def, usage string)
type boolFlag func(p *bool, flagName, env string, def bool, usage string)

// flags binds the cluster settings.
func (c *ClusterConfig) flags(str strFlag, boolean boolFlag) {
	boolean(&c.On, "cluster", "APERTURE_CLUSTER", false, "run as one node of a cluster (see the README's Cluster mode)")
	str(&c.Node, "node", "APERTURE_NODE", "", "this node's name in the cluster (unique; default: the host name)")
	str(&c.Listen, "cluster-listen", "APERTURE_CLUSTER_LISTEN", "0.0.0.0:7422", "address the other nodes connect to")
	str(&c.Routes, "cluster-routes", "APERTURE_CLUSTER_ROUTES", "", "comma-separated cluster addresses of other nodes to join (host:port)")
	str(&c.Secret, "cluster-secret", "APERTURE_CLUSTER_SECRET", "", "the secret every node of the cluster shares (better given by environment or config file)")
	str(&c.Client, "cluster-client", "APERTURE_CLUSTER_CLIENT", "127.0.0.1:0", "loopback address of this node's cluster client port, for the aperture cluster commands")
	str(&c.TLSCert, "cluster-tls-cert", "APERTURE_CLUSTER_TLS_CERT", "", "encrypt the cluster's connections with this PEM certificate (with --cluster-tls-key and --cluster-tls-ca)")
	str(&c.TLSKey, "cluster-tls-key", "APERTURE_CLUSTER_TLS_KEY", "", "the cluster certificate's PEM key")
	str(&c.TLSCA, "cluster-tls-ca", "APERTURE_CLUSTER_TLS_CA", "", "the PEM certificate authority the nodes' certificates are checked against")
}

// check refuses a cluster setting that cannot work.
func (c *ClusterConfig) check() error {
	if !c.On {
		return nil
	}
	if len(c.Secret) < 16 {
		return errors.New("--cluster needs a --cluster-secret of at least 16 characters, the same on every node")
	}
	if (c.TLSCert != "") != (c.TLSKey != "") || (c.TLSCert != "" && c.TLSCA == "") {
		return errors.New("cluster TLS needs --cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca together")
	}
	return nil
}

// name returns the node's name.
func (c *ClusterConfig) name() string {
	if c.Node != "" {
		return c.Node
	}
	h, _ := os.Hostname()
	return h
}

// routes returns the seed routes.
func (c *ClusterConfig) routes() []string {
	var out []string
	for _, r := range strings.Split(c.Routes, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// tls returns the routes' TLS configuration, or nil without one.
func (c *ClusterConfig) tls() (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("cluster TLS: %w", err)
	}
	ca, err := os.ReadFile(c.TLSCA)
	if err != nil {
		return nil, fmt.Errorf("cluster TLS: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("cluster TLS: no certificate in %s", c.TLSCA)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}, nil
}
