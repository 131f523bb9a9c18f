// Package client is the Go client of the Session API of gridsession.
//
// A Client sends client, session and event records to Kafka, reads session
// and space state from the workers that own them over NATS request-reply,
// and subscribes to the state changes and raw events that workers publish
// to NATS. It implements the ten operations of the Session API:
//
//	sendClient                      Client.SendClient
//	sendSession                     Client.SendSession
//	sendEvent                       Client.SendEvent
//	getSessionState                 Client.GetSessionState
//	getSpaceState                   Client.GetSpaceState, Client.GetSpaceStateBySpace
//	getSpaceStateRows               Client.GetSpaceStateRows, Client.GetSpaceStateRowsBySpace
//	createSessionStateSubscription  Client.CreateSessionStateSubscription
//	createSessionEventSubscription  Client.CreateSessionEventSubscription
//	createSpaceStateSubscription    Client.CreateSpaceStateSubscription
//	createSpaceEventSubscription    Client.CreateSpaceEventSubscription
//
// A Client serves one tenant and one data residency region, set in Config.
// Gets and subscriptions return the types of package schemas, whose JSON
// forms are the Session API shapes.
//
// Sends validate a record with the same code the workers run and return
// once every in-sync replica has it. State reaches gets and subscriptions
// a few milliseconds later, after a worker has folded the record, so a get
// right after a send may not see it yet.
//
// Gets find the owner of a session or space by its partition, which is
// murmur2 of the Kafka key modulo the partition count, as producers
// partition. While partitions move between workers, a get retries until
// the new owner replies or its context ends.
//
// Subscriptions are plain NATS subscriptions on the subjects workers
// publish to. The client drops duplicate and stale state messages by
// version, and duplicate events by captureId.
package client
