package historian

import (
	"errors"
	"fmt"
)

// ErrInUse is matched (errors.Is) by the error Open and OpenStore return when
// another process holds the data directory's database. Retrying is allowed
// once that process has stopped.
var ErrInUse = errors.New("data directory is in use by another pretreat process")

// dirInUseError names the directory in its message and matches ErrInUse.
type dirInUseError struct {
	dir string
	err error // the database's own timeout error
}

func (e *dirInUseError) Error() string {
	return fmt.Sprintf("data directory %s is in use by another pretreat process", e.dir)
}

func (e *dirInUseError) Is(target error) bool { return target == ErrInUse }

func (e *dirInUseError) Unwrap() error { return e.err }
