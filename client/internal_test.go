package client

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCaptureIDIsValidUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewCaptureID()
		if !uuidV4.MatchString(id) {
			t.Fatalf("NewCaptureID() = %q, expected a version 4 UUID", id)
		}
		if err := schemas.CheckID("captureId", id); err != nil {
			t.Fatalf("NewCaptureID() = %q is not a valid id: %v", id, err)
		}
		if publish.Token(id) != id {
			t.Fatalf("NewCaptureID() = %q is not a plain subject token", id)
		}
		if seen[id] {
			t.Fatalf("NewCaptureID() returned %q twice", id)
		}
		seen[id] = true
	}
}

func TestIDWindowForgetsOldest(t *testing.T) {
	w := newIDWindow(3)
	for _, id := range []string{"a", "b", "c"} {
		if !w.add(id) {
			t.Errorf("add(%q) to a window without it reported a duplicate", id)
		}
	}
	if w.add("a") {
		t.Error(`add("a") while "a" is in the window reported it new`)
	}
	if !w.add("d") {
		t.Error(`add("d") reported a duplicate`)
	}
	// "d" took the place of "a", the oldest.
	if !w.add("a") {
		t.Error(`add("a") after it left the window reported a duplicate`)
	}
	if w.add("c") {
		t.Error(`add("c") while "c" is in the window reported it new`)
	}
	if len(w.set) != 3 || len(w.ids) != 3 {
		t.Errorf("window holds %d ids in its set and %d in its ring, expected 3 and 3", len(w.set), len(w.ids))
	}
}

func TestIDWindowStaysBounded(t *testing.T) {
	w := newIDWindow(eventWindow)
	for i := range 10 * eventWindow {
		w.add(fmt.Sprint(i))
	}
	if len(w.set) != eventWindow {
		t.Errorf("window set holds %d ids, expected %d", len(w.set), eventWindow)
	}
}

func TestQueryErrorUnwrapsToSentinel(t *testing.T) {
	tests := []struct {
		code int
		want error
	}{
		{publish.CodeBadRequest, ErrInvalidRequest},
		{publish.CodeUnauthorized, ErrUnauthorized},
		{publish.CodeForbidden, ErrForbidden},
		{publish.CodeRateLimited, ErrRateLimited},
		{publish.CodeInternal, nil},
		{publish.CodeMisdirected, nil},
	}
	for _, tt := range tests {
		err := &QueryError{Subject: "s", Code: tt.code, Message: "m"}
		if got := err.Unwrap(); got != tt.want {
			t.Errorf("QueryError{Code: %d}.Unwrap() = %v, expected %v", tt.code, got, tt.want)
		}
	}
}

func TestRetryableErrors(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&QueryError{Code: publish.CodeMisdirected}, true},
		{&QueryError{Code: publish.CodeUnavailable}, true},
		{&QueryError{Code: publish.CodeUnauthorized}, false},
		{&QueryError{Code: publish.CodeInternal}, false},
		{fmt.Errorf("wrapped: %w", &partitionCountError{err: fmt.Errorf("broker down")}), true},
		{ErrClosed, false},
	}
	for _, tt := range tests {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("retryable(%v) = %t, expected %t", tt.err, got, tt.want)
		}
	}
}
