package historian

import (
	"encoding/json"
	"strconv"
	"strings"
)

// LastBatchSeq returns the highest batch sequence number used by batches,
// 0 when there is none. The controller makes IDs LINE-TIME-SEQ; the
// sequence is the ID's decimal suffix after its last '-', and a record
// that still carries its controller context has it there too ("seq").
// Both are read; IDs without a decimal suffix count for nothing. A
// controller that numbers its next batch above it never repeats an ID of
// the data directory.
func LastBatchSeq(batches []BatchRecord) int {
	last := 0
	for _, b := range batches {
		if n, ok := idSeq(b.ID); ok && n > last {
			last = n
		}
		if len(b.Context) > 0 {
			var c struct {
				Seq int `json:"seq"`
			}
			if json.Unmarshal(b.Context, &c) == nil && c.Seq > last {
				last = c.Seq
			}
		}
	}
	return last
}

// idSeq is the decimal suffix of id after its last '-'.
func idSeq(id string) (int, bool) {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return 0, false
	}
	s := id[i+1:]
	if s == "" {
		return 0, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil { // too large
		return 0, false
	}
	return n, true
}
