package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/gridsession/gridsession/client"
	"github.com/gridsession/gridsession/schemas"
)

// The examples run against the embedded servers that TestMain starts:
// brokers and natsURL hold their addresses, and username and password an
// access key of tenant "shop".

// eventTime is the time of the examples' records.
const eventTime = "2026-01-02T10:00:00Z"

func ptr[T any](v T) *T { return &v }

// connect returns a client of tenant "shop" in region EU.
func connect(ctx context.Context) *client.Client {
	c, err := client.New(ctx, client.Config{
		Brokers: brokers,
		NATSURL: natsURL,
		Tenant:  "shop",
		Region:  "EU",
	})
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// startSession sends the session record that puts sessionID in spaceID.
func startSession(ctx context.Context, c *client.Client, sessionID, spaceID string) {
	err := c.SendSession(ctx, schemas.Session{
		SessionID:           sessionID,
		SessionCreated:      eventTime,
		Environment:         "production",
		Country:             "DE",
		SpaceID:             spaceID,
		AppID:               "kiosk",
		AppVersion:          "2.1",
		InstallationID:      "installation-1",
		InstallationVersion: "1",
		DeviceID:            "device-1",
		ClientID:            "client-1",
	})
	if err != nil {
		log.Fatal(err)
	}
}

// sendEvent sends an event of sessionID at eventTime.
func sendEvent(ctx context.Context, c *client.Client, sessionID string, e schemas.Event) {
	e.SessionID, e.ClientID, e.EventTime = sessionID, "client-1", eventTime
	if err := c.SendEvent(ctx, e); err != nil {
		log.Fatal(err)
	}
}

// next returns the next value from ch, and stops the program when none
// arrives within 10 seconds.
func next[T any](ch <-chan T) T {
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		log.Fatal("no message within 10s")
	}
	panic("unreachable")
}

func printJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(b))
}

func ExampleNew() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := client.New(ctx, client.Config{
		Brokers: brokers, // such as []string{"127.0.0.1:9092"}
		NATSURL: natsURL, // such as "nats://127.0.0.1:4222"
		Tenant:  "shop",
		Region:  "EU",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println("connected")
	// Output: connected
}

func ExampleClient_SendClient() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(ctx)
	defer c.Close()

	// TenantID, DataResidency and CaptureID take their defaults.
	err := c.SendClient(ctx, schemas.Client{
		ClientID:          "client-1",
		ClientCreated:     eventTime,
		ClientUserAgent:   "Mozilla/5.0",
		Country:           "DE",
		ClientScreenWidth: ptr(1080.0),
	})
	fmt.Println("sent:", err == nil)
	// Output: sent: true
}

func ExampleClient_SendSession() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(ctx)
	defer c.Close()

	// The session record puts the session in space store-1.
	err := c.SendSession(ctx, schemas.Session{
		SessionID:           "session-1",
		SessionCreated:      eventTime,
		Environment:         "production",
		Country:             "DE",
		SpaceID:             "store-1",
		AppID:               "kiosk",
		AppVersion:          "2.1",
		InstallationID:      "installation-1",
		InstallationVersion: "1",
		DeviceID:            "device-1",
		ClientID:            "client-1",
	})
	fmt.Println("sent:", err == nil)
	// Output: sent: true
}

func ExampleClient_SendEvent() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(ctx)
	defer c.Close()

	err := c.SendEvent(ctx, schemas.Event{
		SessionID: "session-1",
		ClientID:  "client-1",
		EventTime: eventTime,
		EventType: schemas.EventCartAdd,
		ProductID: "p1",
		Int1:      ptr[int64](2),
	})
	fmt.Println("sent:", err == nil)

	// An invalid record is never sent; the error names the field.
	err = c.SendEvent(ctx, schemas.Event{
		SessionID: "session-1",
		ClientID:  "client-1",
		EventTime: eventTime,
		EventType: schemas.EventCartAdd,
	})
	var fieldErr *schemas.FieldError
	if errors.As(err, &fieldErr) {
		fmt.Println("rejected:", fieldErr.Field, fieldErr.Detail)
	}
	// Output:
	// sent: true
	// rejected: productId is required for CART_ADD
}

func ExampleClient_GetSessionState() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(ctx)
	defer c.Close()

	sendEvent(ctx, c, "session-get", schemas.Event{EventType: schemas.EventCartAdd, ProductID: "p1", Int1: ptr[int64](2)})
	sendEvent(ctx, c, "session-get", schemas.Event{EventType: schemas.EventSearch, Str1: ptr("shoes")})

	// A worker folds the events a few milliseconds after they are sent.
	var answer schemas.SessionStateAnswer
	for range 200 {
		var err error
		if answer, err = c.GetSessionState(ctx, "session-get"); err != nil {
			log.Fatal(err)
		}
		if len(answer.Session.Search) > 0 {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	printJSON(answer)
	// Output: {"session":{"CART":{"p1":2},"SEARCH":["shoes"]}}
}

func ExampleClient_GetSpaceState() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(ctx)
	defer c.Close()

	startSession(ctx, c, "session-space", "store-7")
	sendEvent(ctx, c, "session-space", schemas.Event{EventType: schemas.EventCartAdd, ProductID: "p1", Int1: ptr[int64](3)})
	sendEvent(ctx, c, "session-space", schemas.Event{EventType: schemas.EventRating, Int1: ptr[int64](4)})

	// The space state of the session's space, read with an access key.
	var state schemas.SpaceState
	for range 200 {
		var err error
		if state, err = c.GetSpaceState(ctx, username, password, "session-space"); err != nil {
			log.Fatal(err)
		}
		if _, ok := state.Numbers[schemas.KeyRating]; ok && state.Cart["p1"].Quantity == 3 {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	printJSON(state)
	// Output: {"CART":{"p1":{"quantity":3,"contacts":1}},"RATING":{"type":"number","value":{"min":4,"max":4,"mean":4,"length":1},"expiry":1767434400000,"created":"2026-01-02T10:00:00Z","updated":"2026-01-02T10:00:00Z"}}
}

func ExampleClient_GetSpaceStateRows() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(ctx)
	defer c.Close()

	startSession(ctx, c, "session-rows", "store-8")
	sendEvent(ctx, c, "session-rows", schemas.Event{EventType: schemas.EventCartAdd, ProductID: "p1", Int1: ptr[int64](2)})
	sendEvent(ctx, c, "session-rows", schemas.Event{EventType: schemas.EventRating, Int1: ptr[int64](5)})

	var rows schemas.SpaceRows
	for range 200 {
		var err error
		if rows, err = c.GetSpaceStateRows(ctx, username, password, "session-rows"); err != nil {
			log.Fatal(err)
		}
		if len(rows.Rating) > 0 && len(rows.Cart) > 0 {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	printJSON(rows)
	// Output: {"RATING":{"session-rows":{"value":5,"expiry":1767434400000,"updated":"2026-01-02T10:00:00Z"}},"CART":{"session-rows":{"expiry":"2026-01-02T10:30:00Z","updated":"2026-01-02T10:00:00Z","value":{"p1":2}}}}
}

func ExampleClient_CreateSessionStateSubscription() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(ctx)
	defer c.Close()

	sub, err := c.CreateSessionStateSubscription(ctx, "session-watched")
	if err != nil {
		log.Fatal(err)
	}
	states := make(chan schemas.SessionState, 100)
	if err := sub.Subscribe(func(s schemas.SessionState) { states <- s }); err != nil {
		log.Fatal(err)
	}
	defer sub.Stop()

	sendEvent(ctx, c, "session-watched", schemas.Event{EventType: schemas.EventCartAdd, ProductID: "p1"})
	printJSON(next(states))
	sendEvent(ctx, c, "session-watched", schemas.Event{EventType: schemas.EventSearch, Str1: ptr("red shoes")})
	printJSON(next(states))
	// Output:
	// {"CART":{"p1":1},"SEARCH":[]}
	// {"CART":{"p1":1},"SEARCH":["red shoes"]}
}

func ExampleClient_CreateSessionEventSubscription() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(ctx)
	defer c.Close()

	sub, err := c.CreateSessionEventSubscription(ctx, "session-events")
	if err != nil {
		log.Fatal(err)
	}
	events := make(chan schemas.Event, 100)
	if err := sub.Subscribe(func(e schemas.Event) { events <- e }); err != nil {
		log.Fatal(err)
	}
	defer sub.Stop()

	sendEvent(ctx, c, "session-events", schemas.Event{CaptureID: "view-1", EventType: schemas.EventProductView, ProductID: "p9"})
	printJSON(next(events))
	// Output: {"captureId":"view-1","clientId":"client-1","dataResidency":"EU","eventTime":"2026-01-02T10:00:00Z","eventType":"PRODUCT_VIEW","interaction":false,"ip":"","productId":"p9","sessionId":"session-events","tenantId":"shop"}
}

func ExampleClient_CreateSpaceStateSubscription() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(ctx)
	defer c.Close()

	// The access key is checked before the subscription is returned.
	sub, err := c.CreateSpaceStateSubscription(ctx, username, password, "store-9")
	if err != nil {
		log.Fatal(err)
	}
	states := make(chan schemas.SpaceState, 100)
	if err := sub.Subscribe(func(s schemas.SpaceState) { states <- s }); err != nil {
		log.Fatal(err)
	}
	defer sub.Stop()

	startSession(ctx, c, "session-store-9", "store-9")
	sendEvent(ctx, c, "session-store-9", schemas.Event{EventType: schemas.EventCartAdd, ProductID: "p1"})
	// The session record alone may publish a state with an empty cart.
	for range 10 {
		if s := next(states); len(s.Cart) > 0 {
			printJSON(s)
			break
		}
	}
	// Output: {"CART":{"p1":{"quantity":1,"contacts":1}}}
}

func ExampleClient_CreateSpaceEventSubscription() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(ctx)
	defer c.Close()

	// Events reach the space's subject once the session record has tied
	// the session to the space.
	startSession(ctx, c, "session-store-10", "store-10")
	sendEvent(ctx, c, "session-store-10", schemas.Event{EventType: schemas.EventCartAdd, ProductID: "p1"})
	for range 200 {
		rows, err := c.GetSpaceStateRowsBySpace(ctx, username, password, "store-10")
		if err != nil {
			log.Fatal(err)
		}
		if len(rows.Cart) > 0 {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}

	sub, err := c.CreateSpaceEventSubscription(ctx, username, password, "store-10")
	if err != nil {
		log.Fatal(err)
	}
	events := make(chan schemas.Event, 100)
	if err := sub.Subscribe(func(e schemas.Event) { events <- e }); err != nil {
		log.Fatal(err)
	}
	defer sub.Stop()

	sendEvent(ctx, c, "session-store-10", schemas.Event{CaptureID: "add-2", EventType: schemas.EventCartAdd, ProductID: "p2", Int1: ptr[int64](3)})
	e := next(events)
	fmt.Println(e.SessionID, e.EventType, e.ProductID, *e.Int1)
	// Output: session-store-10 CART_ADD p2 3
}
