package schemas_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gridsession/gridsession/schemas"
)

func ptr[T any](v T) *T { return &v }

func validEvent() *schemas.Event {
	return &schemas.Event{
		TenantID: "t1", SessionID: "s1", ClientID: "c1", DataResidency: "EU",
		EventTime: "2019-10-01T00:00:00Z", EventType: schemas.EventCartAdd, ProductID: "p1",
	}
}

func fieldErrorOf(t *testing.T, err error) *schemas.FieldError {
	t.Helper()
	var fe *schemas.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v (%T), want a *schemas.FieldError", err, err)
	}
	return fe
}

func TestValidateEventSetsTime(t *testing.T) {
	e := validEvent()
	if err := schemas.NewValidator().ValidateEvent(e); err != nil {
		t.Fatalf("got %v", err)
	}
	if want := time.Date(2019, 10, 1, 0, 0, 0, 0, time.UTC); !e.Time.Equal(want) {
		t.Errorf("Time = %v, want %v", e.Time, want)
	}
}

func TestValidateEventLeavesTimeOnError(t *testing.T) {
	e := validEvent()
	e.TenantID = ""
	if err := schemas.NewValidator().ValidateEvent(e); err == nil {
		t.Fatal("got no error for a missing tenantId")
	}
	if !e.Time.IsZero() {
		t.Errorf("Time = %v, want it unset after a failed validation", e.Time)
	}
}

func TestValidateEventRules(t *testing.T) {
	cases := []struct {
		name   string
		change func(e *schemas.Event)
		reason schemas.Reason
		field  string
	}{
		{"quantity zero", func(e *schemas.Event) { e.Int1 = ptr[int64](0) }, schemas.ReasonInvalidField, "int1"},
		{"quantity above max", func(e *schemas.Event) { e.Int1 = ptr[int64](schemas.MaxQuantity + 1) }, schemas.ReasonInvalidField, "int1"},
		{"rating six", func(e *schemas.Event) { e.EventType, e.Int1 = schemas.EventRating, ptr[int64](6) }, schemas.ReasonInvalidField, "int1"},
		{"rating missing", func(e *schemas.Event) { e.EventType = schemas.EventRating }, schemas.ReasonMissingField, "int1"},
		{"invalid UTF-8 id", func(e *schemas.Event) { e.ProductID = "p\xff" }, schemas.ReasonInvalidField, "productId"},
		{"invalid UTF-8 text", func(e *schemas.Event) { e.Str2 = ptr("a\xffb") }, schemas.ReasonInvalidField, "str2"},
		{"ip too long", func(e *schemas.Event) { e.IP = strings.Repeat("1", schemas.MaxTextBytes+1) }, schemas.ReasonInvalidField, "ip"},
		{"stateful RATING", func(e *schemas.Event) { e.EventType, e.Stateful, e.Int1 = schemas.EventRating, true, ptr[int64](3) }, schemas.ReasonInvalidField, "stateful"},
		{"stateful SEARCH key", func(e *schemas.Event) { e.EventType, e.Stateful, e.Str1 = schemas.KeySearch, true, ptr("x") }, schemas.ReasonInvalidField, "stateful"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := validEvent()
			c.change(e)
			fe := fieldErrorOf(t, schemas.NewValidator().ValidateEvent(e))
			if fe.Reason != c.reason || fe.Field != c.field {
				t.Errorf("got %s on %q, want %s on %q (%v)", fe.Reason, fe.Field, c.reason, c.field, fe)
			}
		})
	}
}

func TestValidateEventAcceptsOtherTypes(t *testing.T) {
	cases := map[string]func(e *schemas.Event){
		"product view without product": func(e *schemas.Event) { e.EventType, e.ProductID = schemas.EventProductView, "" },
		"purchase with revenue":        func(e *schemas.Event) { e.EventType, e.Int1 = schemas.EventPurchase, ptr[int64](1999) },
		"cart clear":                   func(e *schemas.Event) { e.EventType, e.ProductID = schemas.EventCartClear, "" },
		"custom type with dash":        func(e *schemas.Event) { e.EventType = "page-view_2" },
		"stateful int":                 func(e *schemas.Event) { e.EventType, e.Stateful, e.Int1 = "LEVEL", true, ptr[int64](-4) },
		"stateful empty string":        func(e *schemas.Event) { e.EventType, e.Stateful, e.Str1 = "NOTE", true, ptr("") },
		"stateful public": func(e *schemas.Event) {
			e.EventType, e.Stateful, e.Str1, e.Public = "NOTE", true, ptr("x"), ptr[int64](1)
		},
		"cart remove without quantity": func(e *schemas.Event) { e.EventType = schemas.EventCartRemove },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			e := validEvent()
			change(e)
			if err := schemas.NewValidator().ValidateEvent(e); err != nil {
				t.Errorf("got %v", err)
			}
		})
	}
}

func TestValidateClientAndSession(t *testing.T) {
	client := &schemas.Client{
		TenantID: "t1", ClientID: "c1", ClientCreated: "2019-10-01T00:00:00Z",
		ClientUserAgent: "agent", DataResidency: "US", Country: "US",
	}
	if err := schemas.NewValidator().ValidateClient(client); err != nil {
		t.Errorf("valid client: got %v", err)
	}
	client.CaptureID = "a>b"
	if fe := fieldErrorOf(t, schemas.NewValidator().ValidateClient(client)); fe.Field != "captureId" {
		t.Errorf("client captureId a>b: got error on %q", fe.Field)
	}

	session := &schemas.Session{
		TenantID: "t1", SessionID: "s1", SessionCreated: "2019-10-01T00:00:00Z", Environment: "1",
		DataResidency: "IN", Country: "IN", SpaceID: "sp", AppID: "a", AppVersion: "1",
		InstallationID: "i", InstallationVersion: "1", DeviceID: "d", ClientID: "c1",
	}
	if err := schemas.NewValidator().ValidateSession(session); err != nil {
		t.Errorf("valid session: got %v", err)
	}
	session.SpaceID = "store 7"
	if fe := fieldErrorOf(t, schemas.NewValidator().ValidateSession(session)); fe.Field != "spaceId" || fe.Reason != schemas.ReasonInvalidField {
		t.Errorf("session spaceId with a space: got %s on %q", fe.Reason, fe.Field)
	}
}

func TestParseTime(t *testing.T) {
	got, err := schemas.ParseTime("eventTime", "2019-10-01T00:00:00.5-01:00")
	if err != nil {
		t.Fatalf("got %v", err)
	}
	if want := time.Date(2019, 10, 1, 1, 0, 0, 5e8, time.UTC); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}

	fe := fieldErrorOf(t, func() error { _, err := schemas.ParseTime("eventTime", ""); return err }())
	if fe.Reason != schemas.ReasonMissingField || fe.Field != "eventTime" {
		t.Errorf("empty time: got %s on %q", fe.Reason, fe.Field)
	}
}

func TestFieldErrorMessage(t *testing.T) {
	cases := []struct {
		err  *schemas.FieldError
		want string
	}{
		{&schemas.FieldError{Reason: schemas.ReasonOversized, Detail: "record is 70000 bytes"}, "schemas: oversized: record is 70000 bytes"},
		{&schemas.FieldError{Reason: schemas.ReasonMissingField, Field: "tenantId", Detail: "is required"}, "schemas: missing_field tenantId: is required"},
		{&schemas.FieldError{Reason: schemas.ReasonInvalidField, Field: "int1", Value: `"0"`, Detail: "must be positive"}, `schemas: invalid_field int1 "0": must be positive`},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
}

func TestEmptySessionState(t *testing.T) {
	s := schemas.EmptySessionState()
	if s.Cart == nil || s.Search == nil || len(s.Cart) != 0 || len(s.Search) != 0 {
		t.Errorf("got %#v, want an empty non-nil cart and search list", s)
	}
}
