package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/gridsession/gridsession/client"
	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
)

// stdin is where send reads records given as "-", and stderr where watch
// reports what it watches; tests replace them.
var (
	stdin  io.Reader = os.Stdin
	stderr io.Writer = os.Stderr
)

// apiFlags are the settings that send, get and watch share.
type apiFlags struct {
	kafka         listFlag
	nats          string
	tenant        string
	region        string
	regions       listFlag
	topicPrefix   string
	subjectPrefix string
	timeout       time.Duration
	logLevel      string
}

// register adds the shared flags to fs. sends is true for a command that
// sends records, which take a missing tenant and region from the flags.
func (f *apiFlags) register(fs *flag.FlagSet, sends bool) {
	f.kafka = listFlag{defaultKafka}
	f.regions = listFlag(schemas.DefaultRegions)
	fs.Var(&f.kafka, "kafka", "Kafka bootstrap brokers, comma-separated host:port")
	fs.StringVar(&f.nats, "nats", defaultNATS, "NATS server URL")
	if sends {
		fs.StringVar(&f.tenant, "tenant", "rees46", "tenantId of records sent without one")
		fs.StringVar(&f.region, "region", "EU", "dataResidency of records sent without one")
	} else {
		fs.StringVar(&f.tenant, "tenant", "rees46", "tenant id of the request")
		fs.StringVar(&f.region, "region", "EU", "dataResidency of the request")
	}
	fs.Var(&f.regions, "regions", "dataResidency regions the deployment serves, comma-separated, as given to the workers")
	fs.StringVar(&f.topicPrefix, "topic-prefix", ingest.DefaultPrefix, "prefix of the Kafka topic names")
	fs.StringVar(&f.subjectPrefix, "subject-prefix", publish.DefaultPrefix, "first token of every NATS subject")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "maximum time to connect and to wait for Kafka or a worker")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level on stderr: trace, debug, info, warn or error")
}

// connect checks the flags and returns a connected client. The caller
// closes it.
func (f *apiFlags) connect(ctx context.Context) (*client.Client, error) {
	if f.timeout <= 0 {
		return nil, fmt.Errorf("invalid --timeout %s: must be positive, such as 10s", f.timeout)
	}
	log, err := newLogger(f.logLevel)
	if err != nil {
		return nil, err
	}
	cfg := client.Config{
		Brokers:       f.kafka,
		NATSURL:       f.nats,
		Tenant:        f.tenant,
		Region:        f.region,
		Regions:       f.regions,
		TopicPrefix:   f.topicPrefix,
		SubjectPrefix: f.subjectPrefix,
		Log:           log,
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	connectCtx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	c, err := client.New(connectCtx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w (is gridsession dev running, or are --kafka and --nats wrong?)", err)
	}
	return c, nil
}

// explain adds to an error of the client what the user can change to fix
// it.
func (f *apiFlags) explain(err error) error {
	switch {
	case errors.Is(err, client.ErrUnauthorized):
		return fmt.Errorf("%w: check --username and --password, or GRIDSESSION_USERNAME and GRIDSESSION_PASSWORD", err)
	case errors.Is(err, client.ErrForbidden):
		return fmt.Errorf("%w: the key is not issued for tenant %s or for this space (see gridsession keys list)", err, f.tenant)
	case errors.Is(err, client.ErrRateLimited):
		return fmt.Errorf("%w: wait a minute before trying again", err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("timed out after --timeout %s: %w (is a worker running?)", f.timeout, err)
	}
	return err
}

// credentialFlags are the browser id and access key of space reads.
type credentialFlags struct {
	username string
	password string
}

func (f *credentialFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.username, "username", "", "browser id of the access key")
	fs.StringVar(&f.password, "password", "", "access key; prefer GRIDSESSION_PASSWORD, because other users can see command lines")
}

func (f *credentialFlags) validate() error {
	if f.username == "" || f.password == "" {
		return errors.New("space reads need an access key: set --username and --password, or GRIDSESSION_USERNAME and GRIDSESSION_PASSWORD (create one with gridsession keys create)")
	}
	return nil
}

// printJSONLine writes v as one line of JSON.
func printJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func runSend(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		sendUsage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	kind := args[0]
	switch kind {
	case "client", "session", "event":
	default:
		fmt.Fprintf(stdout, "unknown record kind %q\n\n", kind)
		sendUsage(stdout)
		return errUsage
	}

	fs := newFlagSet("send "+kind, "send "+kind+" [flags] | send "+kind+" [flags] - < records.json", stdout)
	var f apiFlags
	f.register(fs, true)
	fields := registerRecordFlags(fs, kind)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}

	fromStdin := false
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "-":
		fromStdin = true
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q: give the record as flags, or '-' to read JSON records from stdin", fs.Arg(0))
	}
	if fromStdin {
		if name := setRecordFlag(fs, fields); name != "" {
			return fmt.Errorf("--%s cannot be combined with '-': the records come from stdin", name)
		}
	}

	// A record given as flags is checked before connecting, so that an
	// invalid one is reported as such even when no broker is reachable.
	validator := schemas.NewValidator(f.regions...)
	var record any
	if !fromStdin {
		record = fields.record(kind, &f)
		if err := validateRecord(validator, record); err != nil {
			return err
		}
	}

	c, err := f.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()

	s := &sender{c: c, flags: &f, out: stdout, validator: validator}
	if fromStdin {
		return s.sendStdin(ctx, kind)
	}
	return s.send(ctx, record)
}

// validateRecord checks a *schemas.Client, *schemas.Session or
// *schemas.Event as workers do.
func validateRecord(v *schemas.Validator, record any) error {
	switch r := record.(type) {
	case *schemas.Client:
		return v.ValidateClient(r)
	case *schemas.Session:
		return v.ValidateSession(r)
	case *schemas.Event:
		return v.ValidateEvent(r)
	}
	return fmt.Errorf("unknown record type %T", record)
}

func sendUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: gridsession send client|session|event [flags] [-]")
	fmt.Fprintln(w, "\nSends one record to Kafka, built from flags, or every JSON record on stdin")
	fmt.Fprintln(w, "when the last argument is '-'. Records are validated as workers validate them,")
	fmt.Fprintln(w, "and each record sent is printed as a JSON line. Examples:")
	fmt.Fprintln(w, "  gridsession send session --session s1 --client c1 --space store-1 --country DE")
	fmt.Fprintln(w, "  gridsession send event --session s1 --client c1 --type CART_ADD --product p1 --int1 2")
	fmt.Fprintln(w, "  gridsession send event - < events.json")
	fmt.Fprintln(w, "\nRun 'gridsession send KIND -h' for the flags of a record kind.")
}

// recordFlags are the fields of a record given as flags.
type recordFlags struct {
	names []string

	clientID, sessionID, spaceID, country, created         string
	userAgent, environment, appID, appVersion              string
	installationID, installationVersion, deviceID          string
	eventType, productID, categoryID, eventTime, captureID string
	str1, str2                                             optionalString
	int1, public                                           optionalInt
	interaction, stateful                                  bool
}

// registerRecordFlags adds the flags of the record kind to fs.
func registerRecordFlags(fs *flag.FlagSet, kind string) *recordFlags {
	r := &recordFlags{}
	add := func(name string) { r.names = append(r.names, name) }
	str := func(p *string, name, def, usage string) {
		fs.StringVar(p, name, def, usage)
		add(name)
	}

	str(&r.clientID, "client", "", "clientId (required)")
	str(&r.captureID, "capture-id", "", "captureId; a random UUID when empty")
	switch kind {
	case "client":
		str(&r.country, "country", "", "country (required)")
		str(&r.created, "created", "", "clientCreated, RFC 3339; the current time when empty")
		str(&r.userAgent, "user-agent", "gridsession-cli", "clientUserAgent")
	case "session":
		str(&r.sessionID, "session", "", "sessionId (required)")
		str(&r.spaceID, "space", "", "spaceId (required)")
		str(&r.country, "country", "", "country (required)")
		str(&r.created, "created", "", "sessionCreated, RFC 3339; the current time when empty")
		str(&r.environment, "environment", "production", "environment")
		str(&r.appID, "app", "gridsession-cli", "appId")
		str(&r.appVersion, "app-version", "1", "appVersion")
		str(&r.installationID, "installation", "", "installationId; the --client value when empty")
		str(&r.installationVersion, "installation-version", "1", "installationVersion")
		str(&r.deviceID, "device", "", "deviceId; the --client value when empty")
	case "event":
		str(&r.sessionID, "session", "", "sessionId (required)")
		str(&r.eventType, "type", "", "eventType, such as CART_ADD, SEARCH or RATING (required)")
		str(&r.productID, "product", "", "productId")
		str(&r.categoryID, "category", "", "categoryId")
		str(&r.eventTime, "time", "", "eventTime, RFC 3339; the current time when empty")
		fs.Var(&r.int1, "int1", "int1: a cart quantity, a rating or a stateful value")
		fs.Var(&r.str1, "str1", "str1: a search query, a contact type or a stateful value")
		fs.Var(&r.str2, "str2", "str2: a contact value or a currency")
		fs.Var(&r.public, "public", "public: expiry of a stateful value in milliseconds")
		fs.BoolVar(&r.interaction, "interaction", false, "interaction")
		fs.BoolVar(&r.stateful, "stateful", false, "stateful: set the session key named by --type to --str1 or --int1")
		r.names = append(r.names, "int1", "str1", "str2", "public", "interaction", "stateful")
	}
	return r
}

// setRecordFlag returns the name of a record flag given on the command line
// or in the environment, or "".
func setRecordFlag(fs *flag.FlagSet, r *recordFlags) string {
	found := ""
	fs.Visit(func(f *flag.Flag) {
		for _, name := range r.names {
			if f.Name == name && found == "" {
				found = name
			}
		}
	})
	return found
}

// record builds the record of kind from the flags, with the flags' tenant
// and region and the current time where a time is empty.
func (r *recordFlags) record(kind string, f *apiFlags) any {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	orNow := func(v string) string {
		if v == "" {
			return now
		}
		return v
	}
	orClient := func(v string) string {
		if v == "" {
			return r.clientID
		}
		return v
	}
	captureID := r.captureID
	if captureID == "" {
		captureID = client.NewCaptureID()
	}

	switch kind {
	case "client":
		return &schemas.Client{
			TenantID: f.tenant, ClientID: r.clientID, ClientCreated: orNow(r.created), ClientUserAgent: r.userAgent,
			DataResidency: f.region, Country: r.country, CaptureID: captureID,
		}
	case "session":
		return &schemas.Session{
			TenantID: f.tenant, SessionID: r.sessionID, SessionCreated: orNow(r.created), Environment: r.environment,
			DataResidency: f.region, Country: r.country, SpaceID: r.spaceID, AppID: r.appID, AppVersion: r.appVersion,
			InstallationID: orClient(r.installationID), InstallationVersion: r.installationVersion,
			DeviceID: orClient(r.deviceID), ClientID: r.clientID, CaptureID: captureID,
		}
	}
	return &schemas.Event{
		CaptureID: captureID, ClientID: r.clientID, DataResidency: f.region, EventTime: orNow(r.eventTime),
		EventType: r.eventType, Interaction: r.interaction, ProductID: r.productID, SessionID: r.sessionID,
		TenantID: f.tenant, CategoryID: r.categoryID, Int1: r.int1.value, Str1: r.str1.value, Str2: r.str2.value,
		Stateful: r.stateful, Public: r.public.value,
	}
}

// sender sends records and prints each one sent.
type sender struct {
	c         *client.Client
	flags     *apiFlags
	out       io.Writer
	validator *schemas.Validator
}

// send sends one *schemas.Client, *schemas.Session or *schemas.Event
// within --timeout and prints it.
func (s *sender) send(ctx context.Context, record any) error {
	ctx, cancel := context.WithTimeout(ctx, s.flags.timeout)
	defer cancel()
	var err error
	switch r := record.(type) {
	case *schemas.Client:
		err = s.c.SendClient(ctx, *r)
	case *schemas.Session:
		err = s.c.SendSession(ctx, *r)
	case *schemas.Event:
		err = s.c.SendEvent(ctx, *r)
	}
	if err != nil {
		return s.flags.explain(err)
	}
	return printJSONLine(s.out, record)
}

// sendStdin sends every JSON record on stdin in order. It stops at the
// first record that is invalid or fails to send, after sending the records
// before it.
func (s *sender) sendStdin(ctx context.Context, kind string) error {
	dec := json.NewDecoder(stdin)
	for n := 1; ; n++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("record %d on stdin is not JSON: %w", n, err)
		}
		record, err := s.decode(kind, raw)
		if err == nil {
			err = s.send(ctx, record)
		}
		if err != nil {
			return fmt.Errorf("record %d on stdin: %w (records before it were sent)", n, err)
		}
	}
}

// decode sets a missing tenantId and dataResidency of a JSON record from the
// flags and a missing captureId to a new one, then decodes and validates the
// record as workers do.
func (s *sender) decode(kind string, raw json.RawMessage) (any, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, fmt.Errorf("invalid record: %w", err)
	}
	for name, value := range map[string]string{"tenantId": s.flags.tenant, "dataResidency": s.flags.region, "captureId": client.NewCaptureID()} {
		if _, ok := members[name]; !ok {
			members[name], _ = json.Marshal(value)
		}
	}
	data, err := json.Marshal(members)
	if err != nil {
		return nil, err
	}

	var record any
	switch kind {
	case "client":
		record, err = s.validator.DecodeClient(data)
	case "session":
		record, err = s.validator.DecodeSession(data)
	default:
		record, err = s.validator.DecodeEvent(data)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid record: %w", err)
	}
	return record, nil
}

// optionalInt is an integer flag that may be absent.
type optionalInt struct{ value *int64 }

func (o *optionalInt) String() string {
	if o == nil || o.value == nil {
		return ""
	}
	return strconv.FormatInt(*o.value, 10)
}

func (o *optionalInt) Set(v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return errors.New("must be a whole number")
	}
	o.value = &n
	return nil
}

// optionalString is a string flag that may be absent, which differs from
// an empty value.
type optionalString struct{ value *string }

func (o *optionalString) String() string {
	if o == nil || o.value == nil {
		return ""
	}
	return *o.value
}

func (o *optionalString) Set(v string) error {
	o.value = &v
	return nil
}

func runGet(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		getUsage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	kind := args[0]
	switch kind {
	case "session", "space", "rows":
	default:
		fmt.Fprintf(stdout, "unknown get %q\n\n", kind)
		getUsage(stdout)
		return errUsage
	}

	synopsis := "get session --session S [flags]"
	if kind != "session" {
		synopsis = "get " + kind + " --session S | --space S [flags]"
	}
	fs := newFlagSet("get "+kind, synopsis, stdout)
	var f apiFlags
	f.register(fs, false)
	var session, space *string
	var creds credentialFlags
	if kind == "session" {
		session = fs.String("session", "", "session id (required)")
	} else {
		session = fs.String("session", "", "session id, whose space is read")
		space = fs.String("space", "", "space id, instead of --session")
		creds.register(fs)
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	if err := checkTarget(kind, *session, space); err != nil {
		return err
	}
	if kind != "session" {
		if err := creds.validate(); err != nil {
			return err
		}
	}

	c, err := f.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	answer, err := get(ctx, c, kind, *session, space, creds)
	if err != nil {
		return f.explain(err)
	}
	return printJSONLine(stdout, answer)
}

func getUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: gridsession get session|space|rows [flags]")
	fmt.Fprintln(w, "\nRequests the state of a session or space from the worker that owns it and")
	fmt.Fprintln(w, "prints it as one JSON line:")
	fmt.Fprintln(w, "  get session --session S              the session's cart and searches")
	fmt.Fprintln(w, "  get space --session S | --space S    the space's cart totals and ratings")
	fmt.Fprintln(w, "  get rows --session S | --space S     the per-session rows behind them")
	fmt.Fprintln(w, "\nSpace reads need an access key: --username and --password, or the variables")
	fmt.Fprintln(w, "GRIDSESSION_USERNAME and GRIDSESSION_PASSWORD. Run 'gridsession get KIND -h' for")
	fmt.Fprintln(w, "the flags.")
}

// checkTarget requires exactly one of --session and --space, where space
// is nil for a get that takes only --session.
func checkTarget(kind, session string, space *string) error {
	switch {
	case space == nil && session == "":
		return fmt.Errorf("get %s needs --session", kind)
	case space == nil:
		return nil
	case session == "" && *space == "":
		return fmt.Errorf("get %s needs --session or --space", kind)
	case session != "" && *space != "":
		return fmt.Errorf("get %s takes --session or --space, not both", kind)
	}
	return nil
}

// get runs one get. space is nil or points to "" when the get is by
// session.
func get(ctx context.Context, c *client.Client, kind, session string, space *string, creds credentialFlags) (any, error) {
	bySpace := space != nil && *space != ""
	switch {
	case kind == "session":
		return c.GetSessionState(ctx, session)
	case kind == "space" && bySpace:
		return c.GetSpaceStateBySpace(ctx, creds.username, creds.password, *space)
	case kind == "space":
		return c.GetSpaceState(ctx, creds.username, creds.password, session)
	case bySpace:
		return c.GetSpaceStateRowsBySpace(ctx, creds.username, creds.password, *space)
	}
	return c.GetSpaceStateRows(ctx, creds.username, creds.password, session)
}

func runWatch(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		watchUsage(stdout)
		return flag.ErrHelp
	}
	if len(args) < 2 {
		watchUsage(stdout)
		return errUsage
	}
	kind, stream := args[0], args[1]
	if (kind != "session" && kind != "space") || (stream != "state" && stream != "events") {
		fmt.Fprintf(stdout, "unknown watch %q %q\n\n", kind, stream)
		watchUsage(stdout)
		return errUsage
	}

	fs := newFlagSet("watch "+kind+" "+stream, "watch "+kind+" "+stream+" --"+kind+" ID [flags]", stdout)
	var f apiFlags
	f.register(fs, false)
	id := fs.String(kind, "", kind+" id (required)")
	count := fs.Int("count", 0, "stop after this many messages; 0 watches until Ctrl-C")
	var creds credentialFlags
	if kind == "space" {
		creds.register(fs)
	}
	if err := parseFlags(fs, args[2:]); err != nil {
		return err
	}
	if err := noArguments(fs); err != nil {
		return err
	}
	switch {
	case *id == "":
		return fmt.Errorf("watch %s %s needs --%s", kind, stream, kind)
	case *count < 0:
		return fmt.Errorf("invalid --count %d: must be 0 or more", *count)
	}
	if kind == "space" {
		if err := creds.validate(); err != nil {
			return err
		}
	}

	c, err := f.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()

	w := &watcher{out: stdout, limit: *count, done: make(chan struct{})}
	sub, err := w.subscribe(ctx, c, &f, kind, stream, *id, creds)
	if err != nil {
		return f.explain(err)
	}
	defer sub.Stop()
	fmt.Fprintf(stderr, "watching %s (Ctrl-C stops)\n", sub.Subject())

	select {
	case <-ctx.Done():
	case <-w.done:
	}
	return w.failure()
}

func watchUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: gridsession watch session|space state|events [flags]")
	fmt.Fprintln(w, "\nPrints every state change or event of one session or space as a JSON line,")
	fmt.Fprintln(w, "without duplicates, until Ctrl-C or --count messages:")
	fmt.Fprintln(w, "  watch session state --session S     {\"CART\": {...}, \"SEARCH\": [...]}")
	fmt.Fprintln(w, "  watch session events --session S    every event applied to the session")
	fmt.Fprintln(w, "  watch space state --space S         the space state after every change")
	fmt.Fprintln(w, "  watch space events --space S        the events of the space's sessions")
	fmt.Fprintln(w, "\nSpace watches need an access key, as space gets do. Run")
	fmt.Fprintln(w, "'gridsession watch KIND STREAM -h' for the flags.")
}

// stoppable is a subscription of any message type.
type stoppable interface {
	Stop()
	Subject() string
}

// watcher prints the messages of one subscription.
type watcher struct {
	out   io.Writer
	limit int

	mu      sync.Mutex
	printed int
	err     error
	done    chan struct{}
}

// subscribe creates and starts the subscription of kind and stream, with
// the access check bounded by --timeout.
func (w *watcher) subscribe(ctx context.Context, c *client.Client, f *apiFlags, kind, stream, id string, creds credentialFlags) (stoppable, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	switch {
	case kind == "session" && stream == "state":
		return start(c.CreateSessionStateSubscription(ctx, id))(w)
	case kind == "session":
		return start(c.CreateSessionEventSubscription(ctx, id))(w)
	case stream == "state":
		return start(c.CreateSpaceStateSubscription(ctx, creds.username, creds.password, id))(w)
	}
	return start(c.CreateSpaceEventSubscription(ctx, creds.username, creds.password, id))(w)
}

// start returns a function that subscribes w to the subscription that a
// Create method returned.
func start[T any](sub *client.Subscription[T], err error) func(*watcher) (stoppable, error) {
	return func(w *watcher) (stoppable, error) {
		if err != nil {
			return nil, err
		}
		if err := sub.Subscribe(func(v T) { w.print(v) }); err != nil {
			return nil, err
		}
		return sub, nil
	}
}

// print writes one message and ends the watch after the last one wanted or
// after a write error.
func (w *watcher) print(v any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil || (w.limit > 0 && w.printed >= w.limit) {
		return
	}
	if err := printJSONLine(w.out, v); err != nil {
		w.err = fmt.Errorf("write output: %w", err)
		close(w.done)
		return
	}
	w.printed++
	if w.printed == w.limit {
		close(w.done)
	}
}

func (w *watcher) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
