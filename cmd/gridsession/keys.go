package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gridsession/gridsession/access"
	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/schemas"
)

// keysConnectTimeout bounds the first connection to the brokers.
const keysConnectTimeout = 10 * time.Second

func runKeys(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		keysUsage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "create":
		return runKeysCreate(ctx, args[1:], stdout)
	case "list":
		return runKeysList(ctx, args[1:], stdout)
	case "revoke":
		return runKeysRevoke(ctx, args[1:], stdout)
	}
	fmt.Fprintf(stdout, "unknown keys command %q\n\n", args[0])
	keysUsage(stdout)
	return errUsage
}

func keysUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: gridsession keys COMMAND [flags]")
	fmt.Fprintln(w, "\nAccess keys let clients read and subscribe to spaces: the browser id is the")
	fmt.Fprintln(w, "username and the access key the password. Commands:")
	fmt.Fprintln(w, "  create --tenant T [--space S]...  issue a key for a tenant, optionally limited to spaces")
	fmt.Fprintln(w, "  list                              list every key, without secrets")
	fmt.Fprintln(w, "  revoke [flags] BROWSER_ID         revoke a key on every worker")
	fmt.Fprintln(w, "\nRun 'gridsession keys COMMAND -h' for the flags of a command.")
}

// keysFlags are the settings that every keys command shares.
type keysFlags struct {
	kafka       listFlag
	topicPrefix string
	timeout     time.Duration
	json        bool
}

func (f *keysFlags) register(fs *flag.FlagSet) {
	f.kafka = listFlag{defaultKafka}
	fs.Var(&f.kafka, "kafka", "Kafka bootstrap brokers, comma-separated host:port")
	fs.StringVar(&f.topicPrefix, "topic-prefix", ingest.DefaultPrefix, "prefix of the Kafka topic names")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "maximum time the command waits for Kafka")
	fs.BoolVar(&f.json, "json", false, "print JSON lines instead of text")
}

func (f *keysFlags) topics() ingest.Topics { return ingest.Topics{Prefix: f.topicPrefix} }

// connect returns a context bounded by --timeout and checks within it that
// a broker accepts connections.
func (f *keysFlags) connect(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if f.timeout <= 0 {
		return nil, nil, fmt.Errorf("invalid --timeout %s: must be positive", f.timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	connectCtx, cancelConnect := context.WithTimeout(ctx, keysConnectTimeout)
	defer cancelConnect()
	if err := ingest.CheckBroker(connectCtx, f.kafka); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("%w (is gridsession dev running, or is --kafka wrong?)", err)
	}
	return ctx, cancel, nil
}

// kafkaError adds the timeout to an error caused by --timeout running out.
func (f *keysFlags) kafkaError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timed out after --timeout %s: %w", f.timeout, err)
	}
	return err
}

// spacesFlag collects --space values. Each use adds one or more
// comma-separated spaces, unlike listFlag, which replaces its list.
type spacesFlag []string

func (s *spacesFlag) String() string { return strings.Join(*s, ",") }

func (s *spacesFlag) Set(v string) error {
	for _, space := range strings.Split(v, ",") {
		if space = strings.TrimSpace(space); space != "" {
			*s = append(*s, space)
		}
	}
	return nil
}

// createdKey is the JSON line that keys create --json prints.
type createdKey struct {
	BrowserID string   `json:"browserId"`
	AccessKey string   `json:"accessKey"`
	TenantID  string   `json:"tenantId"`
	Spaces    []string `json:"spaces"`
}

func runKeysCreate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("keys create", "keys create --tenant T [--space S]... [flags]", stdout)
	var f keysFlags
	f.register(fs)
	tenant := fs.String("tenant", "", "tenant the key may read (required)")
	var spaces spacesFlag
	fs.Var(&spaces, "space", "space the key may read; repeat or separate with commas; none means every space of the tenant")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: keys create takes only flags", fs.Args())
	}
	if err := validateKeyScope(*tenant, spaces); err != nil {
		return err
	}
	// The key stores its spaces sorted and without duplicates.
	slices.Sort(spaces)
	spaces = slices.Compact(spaces)

	ctx, cancel, err := f.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	browserID, secret, err := access.Create(ctx, f.kafka, f.topics(), *tenant, spaces)
	if err != nil {
		return f.kafkaError(err)
	}

	if f.json {
		return json.NewEncoder(stdout).Encode(createdKey{BrowserID: browserID, AccessKey: secret, TenantID: *tenant, Spaces: append([]string{}, spaces...)})
	}
	scope := "every space"
	if len(spaces) > 0 {
		scope = "spaces " + strings.Join(spaces, ", ")
	}
	fmt.Fprintf(stdout, "Created an access key for tenant %s, %s.\n\n", *tenant, scope)
	fmt.Fprintf(stdout, "  browser id (username):  %s\n", browserID)
	fmt.Fprintf(stdout, "  access key (password):  %s\n\n", secret)
	fmt.Fprintln(stdout, "Store the access key now: it is shown only this once, because gridsession keeps")
	fmt.Fprintln(stdout, "only its hash. If it is lost, revoke the key and create a new one.")
	return nil
}

// validateKeyScope checks --tenant and --space before connecting to Kafka.
func validateKeyScope(tenant string, spaces []string) error {
	if tenant == "" {
		return errors.New("--tenant is required")
	}
	if err := schemas.CheckID("tenantId", tenant); err != nil {
		return fmt.Errorf("invalid --tenant %q: %s", tenant, fieldDetail(err))
	}
	for _, s := range spaces {
		if err := schemas.CheckID("spaceId", s); err != nil {
			return fmt.Errorf("invalid --space %q: %s", s, fieldDetail(err))
		}
	}
	return nil
}

// fieldDetail returns what is wrong with the value of a *schemas.FieldError,
// or the whole message of another error.
func fieldDetail(err error) string {
	var fe *schemas.FieldError
	if errors.As(err, &fe) {
		return fe.Detail
	}
	return err.Error()
}

func runKeysList(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("keys list", "keys list [flags]", stdout)
	var f keysFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: keys list takes only flags", fs.Args())
	}

	ctx, cancel, err := f.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	keys, err := access.List(ctx, f.kafka, f.topics())
	if err != nil {
		return f.kafkaError(err)
	}

	if f.json {
		enc := json.NewEncoder(stdout)
		for _, k := range keys {
			if err := enc.Encode(k); err != nil {
				return err
			}
		}
		return nil
	}
	if len(keys) == 0 {
		fmt.Fprintln(stdout, "no access keys; create one with gridsession keys create --tenant T")
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "BROWSER ID\tTENANT\tSPACES\tCREATED\tREVOKED")
	for _, k := range keys {
		spaces := "*"
		if len(k.Spaces) > 0 {
			spaces = strings.Join(k.Spaces, ",")
		}
		revoked := "-"
		if k.Revoked {
			revoked = k.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", k.BrowserID, k.TenantID, spaces, k.Created.Format(time.RFC3339), revoked)
	}
	return w.Flush()
}

func runKeysRevoke(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("keys revoke", "keys revoke [flags] BROWSER_ID", stdout)
	var f keysFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("expected one browser id, got %q: gridsession keys revoke [flags] BROWSER_ID", fs.Args())
	}
	browserID := fs.Arg(0)

	ctx, cancel, err := f.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	k, err := access.Revoke(ctx, f.kafka, f.topics(), browserID)
	if errors.Is(err, access.ErrKeyNotFound) {
		return fmt.Errorf("%w (gridsession keys list shows the browser ids)", err)
	}
	if err != nil {
		return f.kafkaError(err)
	}

	if f.json {
		return json.NewEncoder(stdout).Encode(k)
	}
	fmt.Fprintf(stdout, "Revoked access key %s of tenant %s at %s. Workers reject it as soon as they read the revocation.\n",
		k.BrowserID, k.TenantID, k.RevokedAt.Format(time.RFC3339))
	return nil
}
