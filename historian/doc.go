// Package historian records what the plant did: tag samples with their
// quality, events (batch and phase transitions, alarms, operator commands)
// and batch records, and answers the trend and report queries on them.
//
// # Destinations
//
//   - The embedded store, a bbolt database at Dir/pretreat.db. Samples live
//     in one sub-bucket per tag keyed by time, with their quality and the
//     batch that was running, so that a time-range query is a cursor seek;
//     they are deleted after Options.Retention. Events are kept in time
//     order and batch records by ID; neither expires. The store is the
//     historian when no InfluxDB is configured (the default for demo) and
//     always holds events and batch records.
//   - InfluxDB (1.8 through its 2.x-compatible API, or 2.x), through a
//     durable outbox (package outbox, Dir/outbox.db) drained by a writer.
//
// # The path to InfluxDB
//
// Samples and Event copy into a bounded memory queue. Every CommitInterval
// (100 ms by default) the committer goroutine encodes the queue as line
// protocol, refusing points InfluxDB could never take (NaN or ±Inf
// values, no field, times outside 1677-2262; counted in
// Stats.Influx.Rejected*), gzips it into chunks and appends them to the
// outbox in one bbolt transaction. A point is accepted when that
// transaction has committed: bbolt has written and fdatasync'ed the file,
// so it survives kill -9 and power loss. What a crash can lose is what
// was not yet accepted: at most one CommitInterval of data plus the commit
// in progress.
//
// The sender goroutine reads the oldest chunks, up to BatchSize points,
// and POSTs them gzipped to /api/v2/write through influxdb-client-go's
// HTTP service (token header, error decoding with Retry-After). It deletes
// chunks only after InfluxDB acknowledged them (2xx), batching the deletes
// every 250 ms; a crash before the delete sends them again, which InfluxDB
// stores once (one point per series and time). Failures back off from 1 s
// doubling to MaxRetryDelay, or longer when the server sends Retry-After.
// A batch InfluxDB refuses for good (400, e.g. a field type conflict) is
// deleted and counted in Stats.Influx.Refused so that the rest flows;
// 401, 403 and 404 are retried, since a person can fix them while the
// outbox waits. Order is kept: chunks are numbered as committed and sent
// oldest first.
//
// The outbox is bounded by OutboxMaxBytes (1 GiB by default, about 130
// million points at ~8 bytes a point). When it is full it drops the oldest
// chunks (or, configured, the new ones), counts the points, and records
// an alarm event "historian_outbox_full" once per episode. Nothing on this
// path can block the scan.
//
// # The scan's side
//
// The controller's scan hands data in through Samples, Event, SaveBatch
// and SetBatch. These never block and never do I/O: they copy into
// bounded in-memory queues and, when a queue is full, drop and count.
// Sampling policies (on change with deadband and heartbeat, periodic)
// apply there, before both destinations. Stats reports the counters for
// the API. Close flushes what is queued and gives InfluxDB CloseTimeout to
// take the outbox; the rest is sent after the next Open.
//
// # InfluxDB schema
//
// Measurements process (samples: one series per line, tag and quality; no
// batch tag), event, and the record points batch, delivery and line_state,
// each with the record as JSON in field "record" (see MeasurementBatch,
// MeasurementDelivery, MeasurementLineState). InfluxQuerier.Records reads
// the records back; GrafanaDashboard is a dashboard over this schema.
//
// # Queries
//
// Store and InfluxQuerier implement Querier: a tag's trend downsampled to
// N equal buckets, and count/sum/mean/min/max per batch, waste class or
// plant day, with the same definitions (see TrendQuery, AggregateQuery).
//
// The read side (OpenStore, Store) works on a data directory whose writer
// has closed, or through Historian.Store on the running process.
//
// The package imports only drivers types from pretreat. It must not wait on
// the network or the disk in any method the scan calls.
package historian
