// Package access issues, distributes and checks the access keys that space
// reads and space subscriptions require.
//
// A key is a browser id, which clients send as the user name, and a secret
// access key, which they send as the password. It belongs to one tenant
// and may be limited to a list of spaces. Create generates both with the
// CSPRNG and writes only an argon2id hash of the access key to the
// compacted topic <prefix>.access-keys, keyed by browser id. Revoke writes
// the record again, marked revoked and without the hash.
//
// Every worker runs a Registry, which reads the whole topic at start and
// keeps following it, and calls Registry.Check for every request. Check
// compares hashes in constant time, caches successful verifications for a
// short time, rate-limits failed attempts per browser id and logs every
// rejection without the access key.
//
// Any client with write access to the access-keys topic can issue keys, so
// grant that access only to the operators who run `gridsession keys`.
package access
