package benchutil_test

import (
	"testing"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

func TestDistOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		want benchutil.Dist
	}{
		{"empty", nil, benchutil.Dist{}},
		{"one", []float64{3}, benchutil.Dist{N: 1, Median: 3, P90: 3, Min: 3, Max: 3}},
		{"even: mean of the middle two", []float64{2, 1}, benchutil.Dist{N: 2, Median: 1.5, P90: 2, Min: 1, Max: 2}},
		{"odd, unsorted", []float64{5, 1, 4, 2, 3}, benchutil.Dist{N: 5, Median: 3, P90: 5, Min: 1, Max: 5}},
		{"p90 by nearest rank, rounded", []float64{1.00049, 2, 7, 9, 11, 13, 0.5, 8, 8, 100, 3},
			benchutil.Dist{N: 11, Median: 8, P90: 13, Min: 0.5, Max: 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xs := append([]float64(nil), tc.xs...)
			if got := benchutil.DistOf(xs); got != tc.want {
				t.Errorf("DistOf(%v) = %+v, want %+v", tc.xs, got, tc.want)
			}
			for i := range xs {
				if xs[i] != tc.xs[i] {
					t.Fatalf("DistOf sorted its argument: %v", xs)
				}
			}
		})
	}
}

func TestRatio(t *testing.T) {
	for _, tc := range []struct {
		a, b, want float64
	}{
		{2, 3, 0.667},
		{0, 3, 0},
		{1, 0, 0},
		{1, -1, 0},
	} {
		if got := benchutil.Ratio(tc.a, tc.b); got != tc.want {
			t.Errorf("Ratio(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
