package sqlite

import "time"

// createdAt orders rows; a missing time sorts first.
func createdAt(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixNano()
}
