package spark_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/hearthcluster/hearth/spark"
)

func TestResolveRelease(t *testing.T) {
	tests := []struct {
		label   string
		want    string // Spark version
		minJava int
		maxJava int
	}{
		{"", spark.DefaultVersion, 17, 0},
		{"spark-4.0.1", "4.0.1", 17, 0},
		{"spark-4.0.0", "4.0.0", 17, 0},
		{"spark-3.5.5", "3.5.5", 8, 17},
		{"spark-3.3.0", "3.3.0", 8, 17},
		{"spark-3.2.4", "3.2.4", 8, 11},
		{" Spark-3.4.1 ", "3.4.1", 8, 17},
		{"emr-7.9.0", "3.5.5", 8, 17},
		{"emr-7.10.0", "3.5.5", 8, 17},
		{"emr-7.0.0", "3.5.0", 8, 17},
		{"emr-6.15.0", "3.4.1", 8, 17},
		{"emr-6.9.0", "3.3.0", 8, 17},
		{"emr-6.1.0", "3.0.0", 8, 11},
		{"emr-6.0.0", "2.4.4", 8, 8},
		{"emr-5.36.0", "2.4.8", 8, 8},
		{"emr-5.3.1", "2.1.0", 8, 8},
		{"EMR-5.0.0", "2.0.0", 8, 8},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			r, err := spark.ResolveRelease(tc.label)
			if err != nil {
				t.Fatalf("ResolveRelease(%q): %v", tc.label, err)
			}
			if r.SparkVersion != tc.want || r.MinJava != tc.minJava || r.MaxJava != tc.maxJava {
				t.Errorf("ResolveRelease(%q) = Spark %s Java [%d,%d], want Spark %s Java [%d,%d]",
					tc.label, r.SparkVersion, r.MinJava, r.MaxJava, tc.want, tc.minJava, tc.maxJava)
			}
			wantLabel := strings.TrimSpace(tc.label)
			if wantLabel == "" {
				wantLabel = "spark-" + spark.DefaultVersion
			}
			if r.Label != wantLabel {
				t.Errorf("Label = %q, want %q", r.Label, wantLabel)
			}
		})
	}
}

func TestResolveReleaseUnknown(t *testing.T) {
	tests := []struct {
		label string
		hint  string // extra text the message must contain
	}{
		{"emr-9.9.9", ""},
		{"emr-4.9.4", ""},
		{"spark-9.9.9", ""},
		{"spark-4.0.1-SNAPSHOT", ""},
		{"spark-04.0.1", ""},
		{"4.0.1", "did you mean spark-4.0.1?"},
		{"7.9.0", "did you mean emr-7.9.0?"},
		{"hadoop-3.3.6", ""},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			_, err := spark.ResolveRelease(tc.label)
			if err == nil {
				t.Fatalf("ResolveRelease(%q) succeeded, want error", tc.label)
			}
			msg := err.Error()
			for _, want := range []string{`"` + tc.label + `"`, "unknown", "spark-4.", "spark-3.", "emr-5.", "emr-6.", "emr-7.", "spark-" + spark.DefaultVersion, tc.hint} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			if len(msg) > 600 {
				t.Errorf("error is %d bytes, want a compact list:\n%s", len(msg), msg)
			}
		})
	}
}

func TestKnownLabels(t *testing.T) {
	labels := spark.KnownLabels()
	for _, want := range []string{"spark-4.0.1", "spark-4.0.0", "spark-3.3.0", "spark-3.5.5", "emr-5.3.1", "emr-6.9.0", "emr-7.0.0", "emr-7.9.0"} {
		if !slices.Contains(labels, want) {
			t.Errorf("KnownLabels() lacks %s", want)
		}
	}
	seen := map[string]bool{}
	for _, l := range labels {
		if seen[l] {
			t.Errorf("KnownLabels() lists %s twice", l)
		}
		seen[l] = true
		r, err := spark.ResolveRelease(l)
		if err != nil {
			t.Errorf("known label %s does not resolve: %v", l, err)
			continue
		}
		if r.Label != l || r.MinJava == 0 {
			t.Errorf("ResolveRelease(%s) = %+v", l, r)
		}
	}
	labels[0] = "mutated"
	if spark.KnownLabels()[0] == "mutated" {
		t.Error("KnownLabels returns shared state")
	}
}

func TestCheckJava(t *testing.T) {
	java := func(major int) spark.Java { return spark.Java{Path: "/usr/bin/java", Major: major} }
	tests := []struct {
		label   string
		java    spark.Java
		wantErr []string // substrings; nil means no error
		notWant []string
	}{
		{label: "spark-4.0.1", java: java(17)},
		{label: "spark-4.0.1", java: java(21)},
		{label: "emr-7.9.0", java: java(17)},
		{label: "emr-7.9.0", java: java(8)},
		{label: "emr-6.1.0", java: java(11)},
		{label: "emr-5.3.1", java: java(8)},
		{
			label: "emr-5.3.1", java: java(17),
			wantErr: []string{
				"release-label emr-5.3.1 ships Spark 2.1.0, which needs Java 8; this host has Java 17 (/usr/bin/java).",
				"emr-6.8.0 through emr-7.",
				"spark-4.0.1",
				"JAVA_HOME",
			},
		},
		{
			label: "spark-4.0.1", java: java(11),
			wantErr: []string{
				"release-label spark-4.0.1 is Spark 4.0.1, which needs Java 17 or later; this host has Java 11",
				"sudo apt-get install -y openjdk-17-jre-headless",
				"brew install openjdk@17",
				"emr-6.1.0 through emr-7.",
			},
		},
		{
			label: "emr-7.9.0", java: java(21),
			wantErr: []string{"ships Spark 3.5.5, which needs Java 8 to 17; this host has Java 21", "Use spark-4.0.1"},
			notWant: []string{"through emr-"},
		},
		{
			label: "emr-6.1.0", java: java(17),
			wantErr: []string{"needs Java 8 to 11", "emr-6.8.0 through"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.label+"/java"+itoa(tc.java.Major), func(t *testing.T) {
			r, err := spark.ResolveRelease(tc.label)
			if err != nil {
				t.Fatal(err)
			}
			err = r.CheckJava(tc.java)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckJava: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckJava succeeded, want error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			for _, bad := range tc.notWant {
				if strings.Contains(err.Error(), bad) {
					t.Errorf("error %q contains %q", err, bad)
				}
			}
		})
	}
}

func TestPackageName(t *testing.T) {
	tests := map[string]string{
		"4.0.1":          "spark-4.0.1-bin-hadoop3",
		"3.5.5":          "spark-3.5.5-bin-hadoop3",
		"3.3.0":          "spark-3.3.0-bin-hadoop3",
		"3.2.4":          "spark-3.2.4-bin-hadoop3.2",
		"3.0.0":          "spark-3.0.0-bin-hadoop3.2",
		"2.4.8":          "spark-2.4.8-bin-hadoop2.7",
		"2.1.0":          "spark-2.1.0-bin-hadoop2.7",
		"9.9.9":          "spark-9.9.9-bin-hadoop3",
		"4.0.0-preview2": "spark-4.0.0-preview2-bin-hadoop3",
	}
	for v, want := range tests {
		if got := spark.PackageName(v); got != want {
			t.Errorf("PackageName(%q) = %q, want %q", v, got, want)
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
