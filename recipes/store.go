package recipes

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// StoreFile is the recipe store's file name inside a data directory.
const StoreFile = "recipes.db"

// Version states.
const (
	StateDraft    = "draft"
	StateApproved = "approved"
)

// VersionInfo describes one stored, immutable recipe version.
type VersionInfo struct {
	Name        string    `json:"recipe"`
	Version     int       `json:"version"`
	Hash        string    `json:"hash"`
	State       string    `json:"state"`
	WasteClass  string    `json:"waste_class"`
	Description string    `json:"description"`
	SourceName  string    `json:"source_name"`
	ImportedBy  string    `json:"imported_by"`
	ImportedAt  time.Time `json:"imported_at"`
	ApprovedBy  string    `json:"approved_by,omitempty"`
	ApprovedAt  time.Time `json:"approved_at,omitzero"`
}

// AuditEntry is one recorded action on the store.
type AuditEntry struct {
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Action  string    `json:"action"` // import, approve
	Recipe  string    `json:"recipe"`
	Version int       `json:"version"`
	Hash    string    `json:"hash"`
}

type storedVersion struct {
	Info   VersionInfo `json:"info"`
	Source []byte      `json:"source"`
}

var (
	bucketRecipes = []byte("recipes")
	bucketAudit   = []byte("audit")
)

// ErrNotFound is returned for a recipe or version that is not stored.
var ErrNotFound = errors.New("not found")

// ErrNotApproved is returned when a draft is asked to start a batch.
var ErrNotApproved = errors.New("not approved")

// Store is the versioned recipe store in a data directory's embedded
// database. Each call opens the database, runs one transaction and closes
// it again, so that the CLI and a running controller can share the file;
// a call waits at most a second for the other to finish.
type Store struct {
	path string
	mu   sync.Mutex // serialises opens within this process (flock is per process)
}

// OpenStore returns the store in dir; it makes no I/O until used.
func OpenStore(dir string) *Store {
	return &Store{path: filepath.Join(dir, StoreFile)}
}

func (s *Store) with(write bool, fn func(tx *bolt.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if write {
		if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
			return err
		}
	} else if _, err := os.Stat(s.path); errors.Is(err, os.ErrNotExist) {
		return fn(nil)
	}
	db, err := bolt.Open(s.path, 0o644, &bolt.Options{Timeout: time.Second, ReadOnly: !write})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return fmt.Errorf("recipe store %s is busy (another pretreat holds it); try again", s.path)
		}
		return fmt.Errorf("recipe store %s: %w", s.path, err)
	}
	defer db.Close()
	if write {
		return db.Update(fn)
	}
	return db.View(fn)
}

func versionKey(v int) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, uint64(v))
	return k
}

// versions returns every stored version of a recipe, oldest first.
func versions(tx *bolt.Tx, name string) ([]storedVersion, error) {
	if tx == nil {
		return nil, nil
	}
	root := tx.Bucket(bucketRecipes)
	if root == nil {
		return nil, nil
	}
	b := root.Bucket([]byte(name))
	if b == nil {
		return nil, nil
	}
	var out []storedVersion
	err := b.ForEach(func(k, v []byte) error {
		var sv storedVersion
		if err := json.Unmarshal(v, &sv); err != nil {
			return fmt.Errorf("recipe %s: stored version %d is corrupt: %w", name, binary.BigEndian.Uint64(k), err)
		}
		out = append(out, sv)
		return nil
	})
	return out, err
}

func putVersion(tx *bolt.Tx, sv storedVersion) error {
	root, err := tx.CreateBucketIfNotExists(bucketRecipes)
	if err != nil {
		return err
	}
	b, err := root.CreateBucketIfNotExists([]byte(sv.Info.Name))
	if err != nil {
		return err
	}
	v, err := json.Marshal(sv)
	if err != nil {
		return err
	}
	return b.Put(versionKey(sv.Info.Version), v)
}

func audit(tx *bolt.Tx, e AuditEntry) error {
	b, err := tx.CreateBucketIfNotExists(bucketAudit)
	if err != nil {
		return err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return b.Put(versionKey(int(seq)), v)
}

// Import validates src against limits and stores it as a new draft version,
// recorded with user. Content already stored (same hash, whatever the
// layout or comments) is not stored again: the existing version is returned
// with created false. A file that states `version:` must state the version
// the store assigns (the next one), or the existing one for its content.
func (s *Store) Import(fileName string, src []byte, user string, limits Limits, now time.Time) (VersionInfo, bool, error) {
	if user == "" {
		return VersionInfo{}, false, errors.New("import needs a user (--user)")
	}
	r, err := Parse(fileName, src, limits)
	if err != nil {
		return VersionInfo{}, false, err
	}
	var info VersionInfo
	created := false
	err = s.with(true, func(tx *bolt.Tx) error {
		vs, err := versions(tx, r.Name)
		if err != nil {
			return err
		}
		next := 1
		for _, v := range vs {
			if v.Info.Hash == r.Hash {
				if r.Version != 0 && r.Version != v.Info.Version {
					return fmt.Errorf("%s: this content is already %s version %d, but the file says version %d", fileName, r.Name, v.Info.Version, r.Version)
				}
				info = v.Info
				return nil
			}
			next = max(next, v.Info.Version+1)
		}
		if r.Version != 0 && r.Version != next {
			if r.Version < next {
				return fmt.Errorf("%s: %s version %d already exists with different content; versions are immutable: remove the version line or write version: %d", fileName, r.Name, r.Version, next)
			}
			return fmt.Errorf("%s: %s version %d would skip versions; the next version is %d", fileName, r.Name, r.Version, next)
		}
		info = VersionInfo{Name: r.Name, Version: next, Hash: r.Hash, State: StateDraft, WasteClass: r.WasteClass,
			Description: r.Description, SourceName: filepath.Base(fileName), ImportedBy: user, ImportedAt: now.UTC()}
		created = true
		if err := putVersion(tx, storedVersion{Info: info, Source: src}); err != nil {
			return err
		}
		return audit(tx, AuditEntry{Time: now.UTC(), User: user, Action: "import", Recipe: r.Name, Version: next, Hash: r.Hash})
	})
	return info, created, err
}

// Approve marks a stored version approved, recorded with user. Approving an
// approved version changes nothing.
func (s *Store) Approve(name string, version int, user string, now time.Time) (VersionInfo, error) {
	if user == "" {
		return VersionInfo{}, errors.New("approve needs a user (--user)")
	}
	var info VersionInfo
	err := s.with(true, func(tx *bolt.Tx) error {
		sv, err := find(tx, name, version, false)
		if err != nil {
			return err
		}
		if sv.Info.State == StateApproved {
			info = sv.Info
			return nil
		}
		sv.Info.State, sv.Info.ApprovedBy, sv.Info.ApprovedAt = StateApproved, user, now.UTC()
		info = sv.Info
		if err := putVersion(tx, *sv); err != nil {
			return err
		}
		return audit(tx, AuditEntry{Time: now.UTC(), User: user, Action: "approve", Recipe: name, Version: sv.Info.Version, Hash: sv.Info.Hash})
	})
	return info, err
}

// find returns name@version (0: the latest, or the latest approved).
func find(tx *bolt.Tx, name string, version int, approvedOnly bool) (*storedVersion, error) {
	vs, err := versions(tx, name)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("recipe %s: %w in the store (import it first)", name, ErrNotFound)
	}
	if version == 0 {
		for i := len(vs) - 1; i >= 0; i-- {
			if !approvedOnly || vs[i].Info.State == StateApproved {
				return &vs[i], nil
			}
		}
		last := vs[len(vs)-1].Info
		return nil, fmt.Errorf("recipe %s has no approved version (the latest, version %d, is a draft; approve it with: pretreat recipe approve %s@%d): %w", name, last.Version, name, last.Version, ErrNotApproved)
	}
	for i := range vs {
		if vs[i].Info.Version == version {
			if approvedOnly && vs[i].Info.State != StateApproved {
				return nil, fmt.Errorf("recipe %s version %d is a draft; only an approved version can start a batch: %w", name, version, ErrNotApproved)
			}
			return &vs[i], nil
		}
	}
	return nil, fmt.Errorf("recipe %s version %d: %w (stored versions: 1 to %d)", name, version, ErrNotFound, vs[len(vs)-1].Info.Version)
}

// Get returns a stored version (0: the latest) parsed, with its info.
func (s *Store) Get(name string, version int) (*Recipe, VersionInfo, error) {
	var sv *storedVersion
	err := s.with(false, func(tx *bolt.Tx) (err error) {
		sv, err = find(tx, name, version, false)
		return err
	})
	if err != nil {
		return nil, VersionInfo{}, err
	}
	r, err := sv.recipe()
	return r, sv.Info, err
}

// Resolve returns an approved version (0: the latest approved) for a batch.
func (s *Store) Resolve(name string, version int) (*Recipe, error) {
	var sv *storedVersion
	err := s.with(false, func(tx *bolt.Tx) (err error) {
		sv, err = find(tx, name, version, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sv.recipe()
}

func (sv *storedVersion) recipe() (*Recipe, error) {
	r, err := Parse(fmt.Sprintf("%s@%d", sv.Info.Name, sv.Info.Version), sv.Source, nil)
	if err != nil {
		return nil, fmt.Errorf("stored recipe %s@%d no longer parses: %w", sv.Info.Name, sv.Info.Version, err)
	}
	r.Version = sv.Info.Version
	return r, nil
}

// Source returns the stored text of a version (0: the latest).
func (s *Store) Source(name string, version int) ([]byte, VersionInfo, error) {
	var sv *storedVersion
	err := s.with(false, func(tx *bolt.Tx) (err error) {
		sv, err = find(tx, name, version, false)
		return err
	})
	if err != nil {
		return nil, VersionInfo{}, err
	}
	return sv.Source, sv.Info, nil
}

// List returns every stored version, by name then version.
func (s *Store) List() ([]VersionInfo, error) {
	var out []VersionInfo
	err := s.with(false, func(tx *bolt.Tx) error {
		if tx == nil || tx.Bucket(bucketRecipes) == nil {
			return nil
		}
		return tx.Bucket(bucketRecipes).ForEach(func(k, _ []byte) error {
			vs, err := versions(tx, string(k))
			for _, v := range vs {
				out = append(out, v.Info)
			}
			return err
		})
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
	return out, err
}

// Audit returns every recorded import and approval, oldest first.
func (s *Store) Audit() ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.with(false, func(tx *bolt.Tx) error {
		if tx == nil || tx.Bucket(bucketAudit) == nil {
			return nil
		}
		return tx.Bucket(bucketAudit).ForEach(func(_, v []byte) error {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}
