package benchutil

import (
	"math"
	"slices"
	"time"
)

// Dist summarises a sample, each figure rounded to 3 decimals (Round3).
type Dist struct {
	N      int     `json:"n"`
	Median float64 `json:"median"` // the mean of the middle two for an even N
	P90    float64 `json:"p90"`    // by nearest rank
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// DistOf summarises xs, which it leaves as they are; the zero Dist when xs
// is empty.
func DistOf(xs []float64) Dist {
	if len(xs) == 0 {
		return Dist{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	p90 := s[max(0, int(math.Ceil(0.9*float64(len(s))))-1)]
	return Dist{N: len(s), Median: Round3(med), P90: Round3(p90), Min: Round3(s[0]), Max: Round3(s[len(s)-1])}
}

// Ratio is a/b rounded to 3 decimals, or 0 when b is not positive (no
// floor to compare with).
func Ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return Round3(a / b)
}

// Millis is d in milliseconds, rounded to 3 decimals.
func Millis(d time.Duration) float64 { return Round3(float64(d) / float64(time.Millisecond)) }
