package taskqueue

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// TLSOptions are the TLS settings of a connection to the server. The zero value trusts
// the system's roots and presents no client certificate.
type TLSOptions struct {
	// CAFile is a PEM file of the CA certificate(s) to trust instead of the system's roots.
	CAFile string
	// CertFile and KeyFile are the PEM client certificate and key, for servers that
	// require mutual TLS (TLS_CLIENT_CA_FILE). Give both or neither.
	CertFile string
	KeyFile  string
	// InsecureSkipVerify accepts any server certificate: UNSAFE, anyone on the path can
	// read and change the traffic. For a quick test against a self-signed server only.
	InsecureSkipVerify bool
}

// TLSCredentials builds transport credentials from o; use them with
// grpc.WithTransportCredentials in Dial's options or WorkerOptions.DialOptions.
func TLSCredentials(o TLSOptions) (credentials.TransportCredentials, error) {
	config := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify} //nolint:gosec // only when the caller asks
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, &OptionsError{Field: "CAFile", Problem: err.Error()}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &OptionsError{Field: "CAFile", Problem: fmt.Sprintf("no PEM certificate in %s", o.CAFile)}
		}
		config.RootCAs = pool
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, &OptionsError{Field: "CertFile", Problem: "a client certificate needs both CertFile and KeyFile"}
	}
	if o.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, &OptionsError{Field: "CertFile", Problem: err.Error()}
		}
		config.Certificates = []tls.Certificate{pair}
	}
	return credentials.NewTLS(config), nil
}

// TLSOptionsFromEnv reads TQ_TLS_CA, TQ_TLS_CERT, TQ_TLS_KEY and
// TQ_TLS_INSECURE_SKIP_VERIFY (1/true); ok is false when none is set.
func TLSOptionsFromEnv() (o TLSOptions, ok bool) {
	o = TLSOptions{CAFile: os.Getenv("TQ_TLS_CA"), CertFile: os.Getenv("TQ_TLS_CERT"), KeyFile: os.Getenv("TQ_TLS_KEY")}
	switch strings.ToLower(os.Getenv("TQ_TLS_INSECURE_SKIP_VERIFY")) {
	case "1", "true", "yes":
		o.InsecureSkipVerify = true
	}
	return o, o != TLSOptions{}
}

// WithToken sends "authorization: Bearer <token>" on every call of the connection (unary
// and streams, the worker's included). Without it, Dial and NewWorker send the environment's
// TQ_TOKEN when set.
func WithToken(token string) grpc.DialOption {
	return tokenOption{grpc.WithPerRPCCredentials(bearerToken(token))}
}

// tokenOption marks the DialOption of WithToken, so that dial knows TQ_TOKEN is overridden.
type tokenOption struct{ grpc.DialOption }

// bearerToken is per-call credentials carrying an API token; it works on plaintext
// connections too (loopback development, TLS terminated in front of the server).
type bearerToken string

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

func (bearerToken) RequireTransportSecurity() bool { return false }

// defaultDialOptions are the connection's defaults, before the caller's options: TLS from
// the environment (TQ_TLS_*) else plaintext, and TQ_TOKEN unless opts has WithToken.
func defaultDialOptions(opts []grpc.DialOption) ([]grpc.DialOption, error) {
	creds := insecure.NewCredentials()
	if o, ok := TLSOptionsFromEnv(); ok {
		var err error
		if creds, err = TLSCredentials(o); err != nil {
			return nil, err
		}
	}
	defaults := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	token := os.Getenv("TQ_TOKEN")
	for _, o := range opts {
		if _, ok := o.(tokenOption); ok {
			token = ""
		}
	}
	if token != "" {
		defaults = append(defaults, WithToken(token))
	}
	return defaults, nil
}
