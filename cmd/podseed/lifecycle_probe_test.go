package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestClassifyProbeError(t *testing.T) {
	wrap := func(err error) error { return &url.Error{Op: "Get", URL: "https://user:pw@a.example/x.mp3", Err: err} }
	tests := []struct {
		name string
		err  error
		want probeVerdict
	}{
		{"dns not found", wrap(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "gone.example", IsNotFound: true}}), probeUnreachable},
		{"dns timeout", wrap(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "i/o timeout", Name: "a.example", IsTimeout: true}}), probeTransient},
		{"connection refused", wrap(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), probeUnreachable},
		{"redirect loop", wrap(errors.New("redirect loop after 2 hops")), probeUnreachable},
		{"ssrf guard", wrap(fmt.Errorf("dial: %w: 10.0.0.1", ErrForbiddenAddress)), probeGone},
		{"reset", wrap(os.NewSyscallError("read", syscall.ECONNRESET)), probeTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classifyProbeError(tt.err)
			if got.verdict != tt.want {
				t.Errorf("verdict %d (%q), want %d", got.verdict, got.reason, tt.want)
			}
			if got.reason == "" || containsAny(got.reason, "user:pw", "x.mp3") {
				t.Errorf("reason %q: want a reason without the URL", got.reason)
			}
		})
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestContentRangeTotal(t *testing.T) {
	for in, want := range map[string]int64{
		"bytes 0-0/1234": 1234, "bytes 0-0/*": -1, "": -1, "bytes 0-0/x": -1, "bytes 0-0/-5": -1,
	} {
		if got := contentRangeTotal(in); got != want {
			t.Errorf("contentRangeTotal(%q) = %d, want %d", in, got, want)
		}
	}
}
