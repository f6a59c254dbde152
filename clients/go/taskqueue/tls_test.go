package taskqueue

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
)

func TestTLSOptionsFromEnv(t *testing.T) {
	t.Setenv("TQ_TLS_CA", "")
	t.Setenv("TQ_TLS_CERT", "")
	t.Setenv("TQ_TLS_KEY", "")
	t.Setenv("TQ_TLS_INSECURE_SKIP_VERIFY", "")
	if _, ok := TLSOptionsFromEnv(); ok {
		t.Fatal("no TLS variable set, yet ok")
	}
	t.Setenv("TQ_TLS_INSECURE_SKIP_VERIFY", "true")
	if o, ok := TLSOptionsFromEnv(); !ok || !o.InsecureSkipVerify {
		t.Fatalf("got %+v, %v", o, ok)
	}
}

func TestTLSCredentialsNamesTheBadField(t *testing.T) {
	var optErr *OptionsError
	if _, err := TLSCredentials(TLSOptions{CAFile: filepath.Join(t.TempDir(), "missing.pem")}); !errors.As(err, &optErr) || optErr.Field != "CAFile" {
		t.Fatalf("missing CA file: %v", err)
	}
	if _, err := TLSCredentials(TLSOptions{CertFile: "client.pem"}); !errors.As(err, &optErr) || optErr.Field != "CertFile" {
		t.Fatalf("cert without key: %v", err)
	}
	if _, err := TLSCredentials(TLSOptions{InsecureSkipVerify: true}); err != nil {
		t.Fatal(err)
	}
}

func TestTokenOptionOverridesTQToken(t *testing.T) {
	md, _ := bearerToken("tq_x").GetRequestMetadata(context.Background())
	if md["authorization"] != "Bearer tq_x" {
		t.Fatalf("metadata %v", md)
	}
	t.Setenv("TQ_TOKEN", "tq_env")
	t.Setenv("TQ_TLS_CA", "")
	t.Setenv("TQ_TLS_CERT", "")
	t.Setenv("TQ_TLS_KEY", "")
	t.Setenv("TQ_TLS_INSECURE_SKIP_VERIFY", "")
	withEnv, err := defaultDialOptions(nil)
	if err != nil || len(withEnv) != 2 {
		t.Fatalf("TQ_TOKEN set: %d options, %v", len(withEnv), err)
	}
	overridden, err := defaultDialOptions([]grpc.DialOption{WithToken("tq_arg")})
	if err != nil || len(overridden) != 1 {
		t.Fatalf("WithToken given: %d options, %v", len(overridden), err)
	}
}
