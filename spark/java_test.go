package spark_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/hearthcluster/hearth/spark"
)

// TestFindJavaReal runs the Java installed on this machine.
func TestFindJavaReal(t *testing.T) {
	if _, err := exec.LookPath("java"); err != nil && os.Getenv("JAVA_HOME") == "" {
		t.Skip("no Java on this host; TestFindJavaMissing covers that case")
	}
	j, err := spark.FindJava(context.Background())
	if err != nil {
		t.Fatalf("FindJava: %v", err)
	}
	if j.Major < 8 {
		t.Errorf("Major = %d, want >= 8", j.Major)
	}
	if j.Major >= 9 && !strings.HasPrefix(j.Version, strconv.Itoa(j.Major)) {
		t.Errorf("Version %q does not start with major %d", j.Version, j.Major)
	}
	if fi, err := os.Stat(filepath.Join(j.Home, "bin", "java")); err != nil || fi.IsDir() {
		t.Errorf("Home %s has no bin/java: %v", j.Home, err)
	}
	if _, err := os.Stat(j.Path); err != nil {
		t.Errorf("Path %s: %v", j.Path, err)
	}
}

func TestFindJavaMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("JAVA_HOME", "")
	_, err := spark.FindJava(context.Background())
	if !errors.Is(err, spark.ErrJavaMissing) {
		t.Fatalf("FindJava error = %v, want ErrJavaMissing", err)
	}
	for _, want := range []string{"apt-get install", "openjdk-17-jre-headless", "brew install openjdk@17", "JAVA_HOME"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// TestFindJavaMissingHome covers a JAVA_HOME that points at no Java.
func TestFindJavaMissingHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("PATH", t.TempDir())
	t.Setenv("JAVA_HOME", home)
	_, err := spark.FindJava(context.Background())
	if !errors.Is(err, spark.ErrJavaMissing) {
		t.Fatalf("FindJava error = %v, want ErrJavaMissing", err)
	}
	if !strings.Contains(err.Error(), home) {
		t.Errorf("error %q does not name JAVA_HOME %s", err, home)
	}
}

// TestFindJavaParses runs fake java executables (shell scripts) that print
// the version banners of real JDKs.
func TestFindJavaParses(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("fake java is a shell script")
	}
	tests := []struct {
		name      string
		banner    string // printed to stderr
		viaHome   bool   // found through JAVA_HOME rather than PATH
		wantMajor int
		wantVer   string
		wantErr   string
	}{
		{name: "java8", banner: `java version "1.8.0_392"\nJava(TM) SE Runtime Environment (build 1.8.0_392-b08)`, viaHome: true, wantMajor: 8, wantVer: "1.8.0_392"},
		{name: "openjdk8", banner: `openjdk version "1.8.0_412"\nOpenJDK Runtime Environment (build 1.8.0_412-b08)`, wantMajor: 8, wantVer: "1.8.0_412"},
		{name: "openjdk17", banner: `openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)`, viaHome: true, wantMajor: 17, wantVer: "17.0.15"},
		{name: "openjdk21", banner: `openjdk version "21" 2023-09-19`, wantMajor: 21, wantVer: "21"},
		{name: "earlyaccess", banner: `openjdk version "22-ea" 2024-03-19`, wantMajor: 22, wantVer: "22-ea"},
		{name: "javaoptions", banner: `Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nopenjdk version "11.0.2" 2019-01-15`, wantMajor: 11, wantVer: "11.0.2"},
		{name: "garbage", banner: `segmentation fault`, wantErr: "no version line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			bin := filepath.Join(home, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			script := "#!/bin/sh\nprintf '" + strings.ReplaceAll(tc.banner, "'", `'\''`) + "\\n' >&2\n"
			if err := os.WriteFile(filepath.Join(bin, "java"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			if tc.viaHome {
				t.Setenv("JAVA_HOME", home)
				t.Setenv("PATH", t.TempDir())
			} else {
				t.Setenv("JAVA_HOME", "")
				t.Setenv("PATH", bin)
			}
			j, err := spark.FindJava(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("FindJava error = %v, want one containing %q", err, tc.wantErr)
				}
				if errors.Is(err, spark.ErrJavaMissing) {
					t.Errorf("a java that runs but is unparsable must not be ErrJavaMissing: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("FindJava: %v", err)
			}
			want := spark.Java{Path: filepath.Join(bin, "java"), Home: home, Major: tc.wantMajor, Version: tc.wantVer}
			if j != want {
				t.Errorf("FindJava = %+v, want %+v", j, want)
			}
		})
	}
}
