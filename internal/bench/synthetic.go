package bench

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/gridsession/gridsession/schemas"
)

// Shape of the synthetic sessions. The figures come from the two REES46
// sample files: "eCommerce behavior data from multi category store" and
// "eCommerce Events History in Cosmetics Shop", published on Kaggle by
// REES46 (https://rees46.com).
const (
	// maxSessionRows is the maximum number of rows of one session in the
	// multi-category sample.
	maxSessionRows = 51

	// The rows of a session follow a log-normal distribution, rounded up
	// and capped at maxSessionRows. The parameters are fitted by hand to
	// the multi-category sample, whose 5,066 sessions have a median of 2
	// rows, a mean of 3.44, one row in 41% of them and 21 rows at the 99th
	// percentile. They give a median of 2, a mean of about 3.4, one row in
	// 39% and 23 at the 99th percentile.
	sessionRowsMedian = 1.4
	sessionRowsSigma  = 1.2

	// newClientPercent is the share of sessions with a client not seen
	// before: the multi-category sample has 4,504 users in 5,066 sessions.
	newClientPercent = 89

	// productCount is the number of distinct products in the
	// multi-category sample. Views pick products with a Zipf distribution
	// of exponent productSkew, an estimate of how views gather on popular
	// products.
	productCount = 6493
	productSkew  = 1.1

	// categoryCount is the number of categories that products belong to.
	categoryCount = 200

	// spaceCount is the number of stores; a session's store is its
	// client's number modulo spaceCount, as the loader does with user_id.
	spaceCount = 10

	// recentClients is how many recent clients a returning shopper is
	// picked from.
	recentClients = 1000
)

// rowTypes are the event types of the rows, weighted by their counts in
// the two samples together (22,429 rows).
var rowTypes = []struct {
	eventType string
	weight    int
}{
	{schemas.EventProductView, 19376},
	{schemas.EventCartAdd, 1465},
	{schemas.EventCartRemove, 1051},
	{schemas.EventPurchase, 537},
}

// Fixed fields of the synthetic records.
const (
	syntheticRegion    = "EU"
	syntheticCountry   = "DE"
	syntheticUserAgent = "gridsession-bench"
	syntheticApp       = "gridsession-bench"
	contactTypeClient  = "CLIENT_ID"
)

// syntheticSession is one session of the generator.
type syntheticSession struct {
	id           string
	clientNumber int
	clientID     string
	// newClient is set when the session's client record is still due.
	newClient bool
	spaceID   string
	// started is set once the session record and CONTACT_IDENTIFY have
	// been emitted.
	started bool
	// rowsLeft counts the rows still to send.
	rowsLeft int
	// cart lists the products added and not removed yet, so that removes
	// usually take a product out of the cart.
	cart []string
}

// synthetic generates sessions shaped like the REES46 samples. Each
// session starts with a client record when its client is new, a session
// record and a CONTACT_IDENTIFY event, as the loader and device clients
// do, followed by its rows. OpenSessions sessions send at the same time,
// each event going to one of them at random, and a session that has sent
// all its rows is replaced by a new one.
type synthetic struct {
	tenant string
	runID  string
	rng    *rand.Rand
	zipf   *rand.Zipf
	open   []syntheticSession
	// sessions and clients count the sessions and clients created.
	sessions int
	clients  int
	// recent holds the numbers of up to recentClients recent clients.
	recent []int
	now    func() time.Time
}

func newSynthetic(tenant, runID string, openSessions int, seed uint64) *synthetic {
	// PCG takes two words; the second is derived from the first so that
	// one number repeats a run's shape. The ids differ, since they carry
	// the run id.
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &synthetic{
		tenant: tenant,
		runID:  runID,
		rng:    rng,
		zipf:   rand.NewZipf(rng, productSkew, 1, productCount-1),
		now:    time.Now,
	}
	g.open = make([]syntheticSession, openSessions)
	for i := range g.open {
		g.open[i] = g.newSession()
	}
	return g
}

// run emits records until emit or ctx stops it. Run's emit returns
// errRunEnd at the run's event limit or duration, one of which Config
// requires.
func (g *synthetic) run(ctx context.Context, emit func(record) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		i := g.rng.IntN(len(g.open))
		if err := g.emitNext(&g.open[i], emit); err != nil {
			return err
		}
		if g.open[i].rowsLeft == 0 {
			g.open[i] = g.newSession()
		}
	}
}

// emitNext emits the next records of s: its opening records when it has
// not started, then one row.
func (g *synthetic) emitNext(s *syntheticSession, emit func(record) error) error {
	at := g.now().UTC()
	if !s.started {
		if s.newClient {
			if err := emit(record{client: g.client(s, at)}); err != nil {
				return err
			}
			s.newClient = false
			g.remember(s.clientNumber)
		}
		if err := emit(record{session: g.session(s, at)}); err != nil {
			return err
		}
		if err := emit(record{event: g.identify(s, at)}); err != nil {
			return err
		}
		s.started = true
	}
	if err := emit(record{event: g.row(s, at)}); err != nil {
		return err
	}
	s.rowsLeft--
	return nil
}

func (g *synthetic) newSession() syntheticSession {
	g.sessions++
	s := syntheticSession{
		id:       "s-" + g.runID + "-" + strconv.Itoa(g.sessions),
		rowsLeft: g.sessionRows(),
	}

	if len(g.recent) > 0 && g.rng.IntN(100) >= newClientPercent {
		s.clientNumber = g.recent[g.rng.IntN(len(g.recent))]
	} else {
		g.clients++
		s.clientNumber = g.clients
		s.newClient = true
	}
	s.clientID = "c-" + g.runID + "-" + strconv.Itoa(s.clientNumber)
	s.spaceID = "store-" + strconv.Itoa(s.clientNumber%spaceCount)
	return s
}

// remember adds a client whose record has been emitted to the ring of
// recent clients, from which returning shoppers are drawn.
func (g *synthetic) remember(clientNumber int) {
	if len(g.recent) < recentClients {
		g.recent = append(g.recent, clientNumber)
		return
	}
	g.recent[clientNumber%recentClients] = clientNumber
}

// sessionRows draws the number of rows of a new session.
func (g *synthetic) sessionRows() int {
	x := math.Exp(math.Log(sessionRowsMedian) + sessionRowsSigma*g.rng.NormFloat64())
	return int(min(max(math.Ceil(x), 1), maxSessionRows))
}

func (g *synthetic) client(s *syntheticSession, at time.Time) *schemas.Client {
	return &schemas.Client{
		TenantID:        g.tenant,
		ClientID:        s.clientID,
		ClientCreated:   formatTime(at),
		ClientUserAgent: syntheticUserAgent,
		DataResidency:   syntheticRegion,
		Country:         syntheticCountry,
	}
}

func (g *synthetic) session(s *syntheticSession, at time.Time) *schemas.Session {
	return &schemas.Session{
		TenantID:            g.tenant,
		SessionID:           s.id,
		SessionCreated:      formatTime(at),
		Environment:         "production",
		DataResidency:       syntheticRegion,
		Country:             syntheticCountry,
		SpaceID:             s.spaceID,
		AppID:               syntheticApp,
		AppVersion:          "1",
		InstallationID:      s.clientID,
		InstallationVersion: "1",
		DeviceID:            s.clientID,
		ClientID:            s.clientID,
	}
}

func (g *synthetic) identify(s *syntheticSession, at time.Time) *schemas.Event {
	e := g.event(s, at, schemas.EventContactIdentify)
	contactType, contactValue := contactTypeClient, s.clientID
	e.Str1 = &contactType
	e.Str2 = &contactValue
	return e
}

// row builds the session's next shop event: a product view, a cart add or
// remove of one item, or a purchase, with the price in cents in int2 as the
// loader maps the REES46 rows.
func (g *synthetic) row(s *syntheticSession, at time.Time) *schemas.Event {
	eventType := g.rowType()
	product := g.zipf.Uint64()
	productID := strconv.FormatUint(1_000_000+product, 10)

	switch eventType {
	case schemas.EventCartAdd:
		s.cart = append(s.cart, productID)
	case schemas.EventCartRemove:
		if len(s.cart) > 0 {
			i := g.rng.IntN(len(s.cart))
			productID = s.cart[i]
			s.cart = append(s.cart[:i], s.cart[i+1:]...)
		}
	case schemas.EventPurchase:
		s.cart = s.cart[:0]
	}

	e := g.event(s, at, eventType)
	e.ProductID = productID
	e.CategoryID = strconv.FormatUint(2_053_013_552_226_107_000+product%categoryCount, 10)
	if eventType == schemas.EventCartAdd || eventType == schemas.EventCartRemove {
		quantity := int64(1)
		e.Int1 = &quantity
	}
	cents := int64(99 + product*7919%50_000)
	e.Int2 = &cents
	return e
}

func (g *synthetic) rowType() string {
	total := 0
	for _, t := range rowTypes {
		total += t.weight
	}
	n := g.rng.IntN(total)
	for _, t := range rowTypes {
		if n < t.weight {
			return t.eventType
		}
		n -= t.weight
	}
	return schemas.EventProductView
}

func (g *synthetic) event(s *syntheticSession, at time.Time, eventType string) *schemas.Event {
	return &schemas.Event{
		ClientID:      s.clientID,
		DataResidency: syntheticRegion,
		EventTime:     formatTime(at),
		EventType:     eventType,
		SessionID:     s.id,
		TenantID:      g.tenant,
	}
}

// formatTime writes t in RFC 3339 in UTC, with the fraction of a second
// when t has one.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}
