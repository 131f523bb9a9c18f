package ingest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestCoPartitionedGivesEachMemberSameNumbers(t *testing.T) {
	topics := []string{"a.clients", "a.sessions", "a.events"}
	for _, n := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprintf("%d members", n), func(t *testing.T) {
			var members []kafka.GroupMember
			for i := range n {
				members = append(members, kafka.GroupMember{ID: fmt.Sprintf("m%d", i), Topics: topics})
			}
			var partitions []kafka.Partition
			for _, topic := range topics {
				for id := range 8 {
					partitions = append(partitions, kafka.Partition{Topic: topic, ID: id})
				}
			}
			// Brokers may list partitions in any order.
			rand.Shuffle(len(partitions), func(i, j int) { partitions[i], partitions[j] = partitions[j], partitions[i] })
			rand.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })

			got := coPartitioned{}.AssignGroups(members, partitions)
			owner := map[int]string{}
			for id, byTopic := range got {
				first := byTopic[topics[0]]
				for _, topic := range topics[1:] {
					if !reflect.DeepEqual(byTopic[topic], first) {
						t.Errorf("member %s owns %v of %s but %v of %s", id, first, topics[0], byTopic[topic], topic)
					}
				}
				for _, p := range first {
					if prev, ok := owner[p]; ok {
						t.Errorf("partition %d owned by %s and %s", p, prev, id)
					}
					owner[p] = id
				}
			}
			if len(owner) != 8 {
				t.Errorf("%d of 8 partitions assigned: %v", len(owner), got)
			}
		})
	}
}
