package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/schemas"
)

// probeTries bounds the search for a probe session id per partition. Ids
// spread evenly over the partitions by murmur2, so a few tries per
// partition find one; 1,000 make a miss practically impossible.
const probeTries = 1000

// warmUp sends one probe event to every partition and waits until all of
// them have arrived on NATS, which shows that a worker consumes every
// partition and publishes under the run's subjects.
func (r *runner) warmUp(ctx context.Context, producer *ingest.Producer, obs *observer, partitions int) error {
	waitCtx, cancel := context.WithTimeout(ctx, r.cfg.WarmupTimeout)
	defer cancel()

	msgs, err := r.probeMessages(partitions)
	if err != nil {
		return err
	}
	if err := producer.Send(waitCtx, msgs...); err != nil {
		return fmt.Errorf("bench: send probe events: %w", err)
	}

	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for obs.probesObserved() < partitions {
		select {
		case <-waitCtx.Done():
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return fmt.Errorf("%w: %d of %d probe events arrived within %s; check that a worker is running on topic %s, publishing under %s and serving region %s",
				ErrNoWorker, obs.probesObserved(), partitions, r.cfg.WarmupTimeout, r.cfg.Topics.Events(), r.cfg.Subjects.Tenant(r.tenant), syntheticRegion)
		case <-tick.C:
		}
	}
	return nil
}

// probeMessages builds one PRODUCT_VIEW event for each partition, in a
// session of its own whose id murmur2 maps to that partition.
func (r *runner) probeMessages(partitions int) ([]kafka.Message, error) {
	list := make([]int, partitions)
	for i := range list {
		list[i] = i
	}
	ids := make([]string, partitions)
	found := 0
	var balancer kafka.Murmur2Balancer
	for n := 0; found < partitions && n < partitions*probeTries; n++ {
		id := "probe-" + r.id + "-" + strconv.Itoa(n)
		p := balancer.Balance(kafka.Message{Key: []byte(id)}, list...)
		if ids[p] == "" {
			ids[p] = id
			found++
		}
	}
	if found < partitions {
		return nil, fmt.Errorf("bench: found probe session ids for only %d of %d partitions", found, partitions)
	}

	at := formatTime(time.Now())
	msgs := make([]kafka.Message, partitions)
	for p, id := range ids {
		e := &schemas.Event{
			CaptureID:     probePrefix(r.id) + strconv.Itoa(p),
			ClientID:      id,
			DataResidency: syntheticRegion,
			EventTime:     at,
			EventType:     schemas.EventProductView,
			ProductID:     "probe",
			SessionID:     id,
			TenantID:      r.tenant,
		}
		value, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("bench: encode probe event: %w", err)
		}
		msgs[p] = kafka.Message{Topic: r.cfg.Topics.Events(), Key: []byte(id), Value: value}
	}
	return msgs, nil
}
