package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultMaxBytes is the disk budget when Options.MaxBytes is zero: 1 GiB,
// which holds tens of millions of points in the historian's compressed
// chunks (days of a typical line's data).
const DefaultMaxBytes = 1 << 30

// Overflow says what Append does when the disk budget is full.
type Overflow uint8

// Overflow policies.
const (
	// OverflowDropOldest deletes the oldest chunks to make room: the most
	// recent data is usually what a person wants once the server is back.
	OverflowDropOldest Overflow = iota
	// OverflowDropNewest keeps what is stored and refuses the new chunks.
	OverflowDropNewest
)

// String returns the name used in configuration and logs.
func (o Overflow) String() string {
	switch o {
	case OverflowDropOldest:
		return "drop_oldest"
	case OverflowDropNewest:
		return "drop_newest"
	}
	return fmt.Sprintf("overflow(%d)", uint8(o))
}

// ErrTooLarge is returned (wrapped) by Append for a chunk that alone is
// larger than the budget. Retrying the same chunk never helps.
var ErrTooLarge = errors.New("chunk larger than the outbox budget")

// Options configure an Outbox.
type Options struct {
	// MaxBytes bounds the stored chunks' bytes (8-byte key plus value).
	// Zero means DefaultMaxBytes.
	MaxBytes int64
	// Overflow is what happens when MaxBytes is reached.
	Overflow Overflow
	// LockTimeout bounds how long Open waits for another process's lock
	// on the file; zero waits one second. The error then wraps
	// bolt.ErrTimeout.
	LockTimeout time.Duration
}

// Chunk is one unit of storage: an opaque payload and the number of points
// it holds (for counting only).
type Chunk struct {
	Points int
	Data   []byte
}

// Batch is what Peek read: consecutive chunks from the oldest on, their
// payloads concatenated in order.
type Batch struct {
	// First and Last are the sequence numbers of the first and last chunk.
	First, Last uint64
	Chunks      int
	Points      int
	// Data is the concatenated payloads; it aliases the buffer given to
	// Peek.
	Data []byte
}

// AppendResult says what one Append did.
type AppendResult struct {
	// AcceptedPoints were committed.
	AcceptedPoints int
	// DroppedPoints were lost to the budget: old ones deleted
	// (OverflowDropOldest) or new ones refused (OverflowDropNewest).
	DroppedPoints int
	DroppedChunks int
}

// Layout of the file:
//
//	meta    "version" -> 1; "next" -> next sequence number;
//	        "points", "bytes" -> what is stored (uint64 big-endian)
//	chunks  key = sequence number (uint64 big-endian)
//	        value = [points uint32 big-endian][payload]
var (
	bucketMeta   = []byte("meta")
	bucketChunks = []byte("chunks")
	keyVersion   = []byte("version")
	keyNext      = []byte("next")
	keyPoints    = []byte("points")
	keyBytes     = []byte("bytes")
)

const (
	layoutVersion = 1
	keyLen        = 8
	headerLen     = 4
)

// Outbox is a durable FIFO of chunks. Its methods are safe for concurrent
// use; Append and Ack each run one bbolt write transaction (and its fsync).
type Outbox struct {
	db       *bolt.DB
	path     string
	maxBytes int64
	overflow Overflow

	// mu serialises the write transactions with the counter updates that
	// follow them, so that the atomics always show a committed state.
	mu sync.Mutex

	points, bytes, chunks atomic.Int64
	acked, dropped        atomic.Uint64
	accepted              atomic.Uint64
}

// Open opens or creates the outbox file at path (its directory must
// exist) and fsyncs the directory so that a newly created file survives a
// power loss.
func Open(path string, o Options) (*Outbox, error) {
	if o.MaxBytes < 0 {
		return nil, fmt.Errorf("outbox: MaxBytes %d is negative", o.MaxBytes)
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Overflow > OverflowDropNewest {
		return nil, fmt.Errorf("outbox: unknown overflow policy %d", o.Overflow)
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: o.LockTimeout,
		// The queue frees pages at the head as fast as it fills them at
		// the tail; not writing the freelist on every commit halves the
		// pages each commit writes. After a crash bbolt rebuilds the
		// freelist by scanning the file, which is what makes this safe.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: open %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox: %w", err)
	}
	ob := &Outbox{db: db, path: path, maxBytes: o.MaxBytes, overflow: o.Overflow}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(bucketChunks); err != nil {
			return err
		}
		if v := meta.Get(keyVersion); v != nil && getU64(v) > layoutVersion {
			return fmt.Errorf("layout %d was written by a newer pretreat (this one reads %d)", getU64(v), layoutVersion)
		}
		if err := putU64(meta, keyVersion, layoutVersion); err != nil {
			return err
		}
		ob.points.Store(int64(getU64(meta.Get(keyPoints))))
		ob.bytes.Store(int64(getU64(meta.Get(keyBytes))))
		ob.chunks.Store(int64(tx.Bucket(bucketChunks).Stats().KeyN))
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox: %s: %w", path, err)
	}
	return ob, nil
}

// syncDir fsyncs a directory so that entries created in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func getU64(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putU64(b *bolt.Bucket, k []byte, v uint64) error {
	return b.Put(k, binary.BigEndian.AppendUint64(nil, v))
}

// chunkPoints reads the points count of a stored value.
func chunkPoints(v []byte) int {
	if len(v) < headerLen {
		return 0
	}
	return int(binary.BigEndian.Uint32(v))
}

// Append stores chunks in order in one transaction. When it returns nil
// they are accepted (committed and synced), except what the result counts
// as dropped. It makes room under the budget as Options.Overflow says and
// never waits for room. Empty chunks are ignored.
func (o *Outbox) Append(chunks []Chunk) (AppendResult, error) {
	var res AppendResult
	if len(chunks) == 0 {
		return res, nil
	}
	for _, c := range chunks {
		if size := int64(keyLen + headerLen + len(c.Data)); size > o.maxBytes {
			return res, fmt.Errorf("outbox: %d-byte chunk of %d points: %w (%d bytes)", size, c.Points, ErrTooLarge, o.maxBytes)
		}
		if c.Points < 0 || c.Points > math.MaxUint32 {
			return res, fmt.Errorf("outbox: chunk with %d points", c.Points)
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var points, bytes, nchunks int64
	var value []byte
	err := o.db.Update(func(tx *bolt.Tx) error {
		res = AppendResult{}
		meta, b := tx.Bucket(bucketMeta), tx.Bucket(bucketChunks)
		// Keys only grow: pack pages full instead of splitting them at
		// bbolt's default half.
		b.FillPercent = 1.0
		points = int64(getU64(meta.Get(keyPoints)))
		bytes = int64(getU64(meta.Get(keyBytes)))
		nchunks = o.chunks.Load()
		next := getU64(meta.Get(keyNext))
		for _, c := range chunks {
			if len(c.Data) == 0 {
				continue
			}
			size := int64(keyLen + headerLen + len(c.Data))
			if bytes+size > o.maxBytes {
				if o.overflow == OverflowDropNewest {
					res.DroppedPoints += c.Points
					res.DroppedChunks++
					continue
				}
				for bytes+size > o.maxBytes {
					cur := b.Cursor()
					k, v := cur.First()
					if k == nil {
						break
					}
					p := chunkPoints(v)
					bytes -= int64(keyLen + len(v))
					points -= int64(p)
					nchunks--
					res.DroppedPoints += p
					res.DroppedChunks++
					if err := cur.Delete(); err != nil {
						return err
					}
				}
			}
			// bbolt keeps a reference to value until commit: one buffer
			// per chunk.
			value = make([]byte, headerLen+len(c.Data))
			binary.BigEndian.PutUint32(value, uint32(c.Points))
			copy(value[headerLen:], c.Data)
			if err := b.Put(binary.BigEndian.AppendUint64(nil, next), value); err != nil {
				return err
			}
			next++
			bytes += size
			points += int64(c.Points)
			nchunks++
			res.AcceptedPoints += c.Points
		}
		if err := putU64(meta, keyNext, next); err != nil {
			return err
		}
		if err := putU64(meta, keyPoints, uint64(points)); err != nil {
			return err
		}
		return putU64(meta, keyBytes, uint64(bytes))
	})
	if err != nil {
		return AppendResult{}, fmt.Errorf("outbox: append: %w", err)
	}
	o.points.Store(points)
	o.bytes.Store(bytes)
	o.chunks.Store(nchunks)
	o.accepted.Add(uint64(res.AcceptedPoints))
	o.dropped.Add(uint64(res.DroppedPoints))
	return res, nil
}

// Peek reads the oldest chunks, as many whole ones as fit in maxPoints but
// at least one, and appends their payloads to dst[:0]. An empty outbox
// gives a Batch with Chunks == 0. Peek does not remove anything.
func (o *Outbox) Peek(maxPoints int, dst []byte) (Batch, error) {
	return o.peek(nil, maxPoints, dst)
}

// PeekAfter is Peek starting after sequence number after: for a caller
// that has sent chunks it has not acknowledged yet.
func (o *Outbox) PeekAfter(after uint64, maxPoints int, dst []byte) (Batch, error) {
	if after == math.MaxUint64 {
		return Batch{Data: dst[:0]}, nil
	}
	return o.peek(binary.BigEndian.AppendUint64(nil, after+1), maxPoints, dst)
}

func (o *Outbox) peek(from []byte, maxPoints int, dst []byte) (Batch, error) {
	bt := Batch{Data: dst[:0]}
	err := o.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketChunks).Cursor()
		k, v := c.First()
		if from != nil {
			k, v = c.Seek(from)
		}
		for ; k != nil; k, v = c.Next() {
			p := chunkPoints(v)
			if bt.Chunks > 0 && bt.Points+p > maxPoints {
				break
			}
			seq := binary.BigEndian.Uint64(k)
			if bt.Chunks == 0 {
				bt.First = seq
			}
			bt.Last = seq
			bt.Chunks++
			bt.Points += p
			bt.Data = append(bt.Data, v[headerLen:]...) // copy: v lives only in the transaction
		}
		return nil
	})
	if err != nil {
		return Batch{Data: dst[:0]}, fmt.Errorf("outbox: peek: %w", err)
	}
	return bt, nil
}

// Ack deletes every chunk from the oldest through sequence number last:
// the destination has them. It returns how many points it deleted;
// chunks the budget dropped in the meantime are not counted again.
func (o *Outbox) Ack(last uint64) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var points, bytes, nchunks int64
	deleted := 0
	err := o.db.Update(func(tx *bolt.Tx) error {
		deleted = 0
		meta, b := tx.Bucket(bucketMeta), tx.Bucket(bucketChunks)
		points = int64(getU64(meta.Get(keyPoints)))
		bytes = int64(getU64(meta.Get(keyBytes)))
		nchunks = o.chunks.Load()
		cur := b.Cursor()
		for k, v := cur.First(); k != nil && binary.BigEndian.Uint64(k) <= last; k, v = cur.First() {
			p := chunkPoints(v)
			bytes -= int64(keyLen + len(v))
			points -= int64(p)
			nchunks--
			deleted += p
			if err := cur.Delete(); err != nil {
				return err
			}
		}
		if err := putU64(meta, keyPoints, uint64(points)); err != nil {
			return err
		}
		return putU64(meta, keyBytes, uint64(bytes))
	})
	if err != nil {
		return 0, fmt.Errorf("outbox: ack: %w", err)
	}
	o.points.Store(points)
	o.bytes.Store(bytes)
	o.chunks.Store(nchunks)
	o.acked.Add(uint64(deleted))
	return deleted, nil
}

// Stats are the outbox's counters. Pending figures are what the file
// holds now; the totals count since Open.
type Stats struct {
	PendingPoints int64 `json:"pending_points"`
	PendingChunks int64 `json:"pending_chunks"`
	// PendingBytes is the stored chunks' bytes, what MaxBytes bounds.
	PendingBytes int64 `json:"pending_bytes"`
	MaxBytes     int64 `json:"max_bytes"`
	// FileBytes is the size of the database file on disk.
	FileBytes int64 `json:"file_bytes"`
	// AcceptedPoints were committed by Append.
	AcceptedPoints uint64 `json:"accepted_points"`
	// AckedPoints were deleted by Ack.
	AckedPoints uint64 `json:"acked_points"`
	// DroppedPoints were lost to the budget.
	DroppedPoints uint64 `json:"dropped_points"`
}

// Stats returns the counters. It does no transaction; FileBytes costs one
// stat call.
func (o *Outbox) Stats() Stats {
	st := Stats{
		PendingPoints:  o.points.Load(),
		PendingChunks:  o.chunks.Load(),
		PendingBytes:   o.bytes.Load(),
		MaxBytes:       o.maxBytes,
		AcceptedPoints: o.accepted.Load(),
		AckedPoints:    o.acked.Load(),
		DroppedPoints:  o.dropped.Load(),
	}
	if fi, err := os.Stat(o.path); err == nil {
		st.FileBytes = fi.Size()
	}
	return st
}

// Path returns the file's path.
func (o *Outbox) Path() string { return o.path }

// Close closes the file. Accepted chunks stay for the next Open.
func (o *Outbox) Close() error {
	return o.db.Close()
}

// Pending returns the points the outbox holds, without any I/O.
func (o *Outbox) Pending() int64 { return o.points.Load() }
