// Package outbox is the historian's durable store-and-forward queue: a FIFO
// of opaque chunks in its own bbolt database file, deleted only when the
// caller acknowledges that the destination took them.
//
// # What "accepted" means
//
// A chunk is accepted when the bbolt transaction that appended it has
// committed, that is when Append has returned nil. bbolt writes the pages
// and then the meta page and calls fdatasync on the file before Commit
// returns (the outbox never sets NoSync), so an accepted chunk survives
// kill -9 and power loss at any later point. Anything not yet passed to
// Append is the caller's to lose; the historian bounds that window by
// committing every CommitInterval.
//
// # Order and deletion
//
// Chunks get consecutive sequence numbers as keys; Peek reads from the
// oldest, and Ack deletes from the oldest through the last chunk a batch
// contained. Nothing else deletes a chunk except the disk budget.
//
// # Disk budget
//
// MaxBytes bounds the bytes of stored chunks (key and value). When an
// Append would go over it, the outbox drops the oldest chunks (the default,
// OverflowDropOldest) or refuses the new ones (OverflowDropNewest) and
// reports how many points it dropped; it never waits for room. The file
// itself is larger than the payload by bbolt's page overhead and keeps its
// high-water size (freed pages are reused, not returned to the file system).
//
// The package knows nothing about InfluxDB or line protocol. It must not be
// called from the controller's scan: every method does disk I/O.
package outbox
