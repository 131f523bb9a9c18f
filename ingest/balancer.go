package ingest

import (
	"slices"

	"github.com/segmentio/kafka-go"
)

// coPartitioned assigns partition numbers, not topic partitions: a member
// that owns partition N owns it in every topic it consumes. Members sorted
// by id take contiguous ranges of the sorted partition numbers, as Kafka's
// range assignor does.
//
// kafka-go's own range balancer assigns partitions in the order of the
// metadata response, which some brokers (franz-go's kfake among them) do not
// sort, so it can give a member partition 1 of one topic and 0 of another.
// The protocol has its own name so that a member with another assignor
// cannot join the group and mix the two.
type coPartitioned struct{}

// coPartitionedProtocol is the protocol name in JoinGroup requests.
const coPartitionedProtocol = "gridsession-copartitioned"

func (coPartitioned) ProtocolName() string { return coPartitionedProtocol }

func (coPartitioned) UserData() ([]byte, error) { return nil, nil }

func (coPartitioned) AssignGroups(members []kafka.GroupMember, partitions []kafka.Partition) kafka.GroupMemberAssignments {
	members = slices.Clone(members)
	slices.SortFunc(members, func(a, b kafka.GroupMember) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})

	numbers := map[int]bool{}
	for _, p := range partitions {
		numbers[p.ID] = true
	}
	sorted := make([]int, 0, len(numbers))
	for n := range numbers {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)

	out := kafka.GroupMemberAssignments{}
	for i, m := range members {
		lo := i * len(sorted) / len(members)
		hi := (i + 1) * len(sorted) / len(members)
		topics := map[string][]int{}
		for _, topic := range m.Topics {
			for _, p := range partitions {
				if p.Topic == topic && slices.Contains(sorted[lo:hi], p.ID) {
					topics[topic] = append(topics[topic], p.ID)
				}
			}
			slices.Sort(topics[topic])
		}
		out[m.ID] = topics
	}
	return out
}
