// Package historian records what the plant did: tag samples with their
// quality, events (batch and phase transitions, alarms, operator commands)
// and batch records.
//
// It owns two destinations:
//
//   - the embedded store, a bbolt database at Dir/pretreat.db. Samples live
//     in one sub-bucket per tag keyed by time, so a time-range query is a
//     cursor seek; they are deleted after Options.Retention. Events are kept
//     in time order and batch records by ID; neither expires. The store is
//     the historian when no InfluxDB is configured (the default for demo)
//     and always holds the batch records.
//   - InfluxDB (1.8 through its 2.x-compatible write API, or 2.x), written
//     on its own goroutine in batches, with retries and backoff while the
//     server is away.
//
// The controller's scan hands data in through Samples, Event and SaveBatch.
// These never block and never do I/O: they copy into bounded in-memory
// queues and, when a queue is full, drop and count. Stats reports the
// counters. Writers drain the queues on their own goroutines (Start) and
// Close flushes what is left.
//
// At this stage the queue between the scan and InfluxDB is in memory: points
// that cannot be delivered are kept in a bounded backlog (the oldest dropped
// and counted when it overflows) and are lost if the process stops. A later
// stage replaces it with a durable on-disk outbox.
//
// The read side (OpenStore, Store) works on a data directory whose writer has
// closed, or through Historian.Store on the running process.
//
// The package imports only drivers types from pretreat. It must not wait on
// the network or the disk in any method the scan calls.
package historian
