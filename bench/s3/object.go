package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
	"github.com/hearthcluster/hearth/objstore"
)

// copyTimes is one put and one get, in seconds, each from just before it
// started until it had finished.
type copyTimes struct {
	PutS float64 `json:"put_s"`
	GetS float64 `json:"get_s"`
}

// objectRun is one run of each side.
type objectRun struct {
	Floor    copyTimes `json:"floor_cp"`
	AwsCLI   copyTimes `json:"aws_cli"`
	ObjStore copyTimes `json:"objstore"`
	// AwsStartS is `aws s3api head-bucket`: the CLI's own start-up and one
	// request, which every `aws s3 cp` also pays.
	AwsStartS float64 `json:"aws_head_bucket_s"`
}

// sideSummary is one row of the result: medians, throughput at the
// median, and ratios of times against the floor (above 1 = slower).
type sideSummary struct {
	Put         dist    `json:"put_s"`
	Get         dist    `json:"get_s"`
	PutMBps     float64 `json:"put_mb_per_s"` // bytes / median(put), 10^6 bytes per second
	GetMBps     float64 `json:"get_mb_per_s"`
	PutRatio    float64 `json:"put_ratio_median"` // median(put) / median(floor cp in)
	GetRatio    float64 `json:"get_ratio_median"` // median(get) / median(floor cp out)
	PutRatioMin float64 `json:"put_ratio_min"`
	GetRatioMin float64 `json:"get_ratio_min"`
}

type objectResult struct {
	SizeMiB  int    `json:"size_mib"`
	Bytes    int64  `json:"bytes"`
	SHA256   string `json:"sha256"`
	Warmup   int    `json:"warmup_runs_discarded"`
	Floor    string `json:"floor"`
	AwsCLI   string `json:"aws_cli"`
	ObjStore string `json:"objstore"`
	// Checked says what each run verified.
	Checked string      `json:"checked"`
	Runs    []objectRun `json:"runs"`
	Summary struct {
		Floor    sideSummary `json:"floor_cp"`
		AwsCLI   sideSummary `json:"aws_cli"`
		ObjStore sideSummary `json:"objstore"`
		AwsStart dist        `json:"aws_head_bucket_s"`
	} `json:"summary"`
}

// object is part 1: a -size MiB file of random bytes, then per run the
// floor (cp in, cp out), the aws CLI (put, get) and objstore (put, get).
func (b *bench) object(ctx context.Context) (*objectResult, error) {
	dir := filepath.Join(b.root, "object")
	for _, d := range []string{"floor", "got"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	src := filepath.Join(dir, "source.bin")
	res := &objectResult{SizeMiB: b.cfg.sizeMiB, Bytes: int64(b.cfg.sizeMiB) << 20, Warmup: b.cfg.warmup}
	sum, err := writeRandom(src, res.Bytes)
	if err != nil {
		return nil, err
	}
	res.SHA256 = sum
	floorDir := filepath.Join(dir, "floor")
	res.Floor = fmt.Sprintf("cp %s %s/object.bin (in), then cp %s/object.bin %s/back.bin (out); both files new, on the store's filesystem",
		src, floorDir, floorDir, floorDir)
	res.AwsCLI = fmt.Sprintf("%s s3 cp --no-progress %s s3://%s/aws-N.bin --endpoint-url %s (put), then %s s3 cp --no-progress s3://%s/aws-N.bin %s/got/aws-N.bin --endpoint-url %s (get)",
		b.cfg.awsBin, src, bucket, b.s3.Endpoint, b.cfg.awsBin, bucket, dir, b.s3.Endpoint)
	res.ObjStore = fmt.Sprintf("objstore.Upload(ctx, store, %q, \"s3://%s/objstore-N.bin\") (put), then objstore.Download(ctx, store, \"s3://%s/objstore-N.bin\", %q) (get), in this process; store = objstore.New(S3Config{Endpoint: %q, PathStyle: true, ...})",
		src, bucket, bucket, dir+"/got/objstore-N.bin", b.s3.Endpoint)
	res.Checked = "every get: the new file's SHA-256 is the source's (floor: both files' sizes); every put: the store's file " +
		"$HEARTH_HOME/s3/buckets/" + bucket + "/KEY has the source's size and, in the first run, its SHA-256"
	store := objstore.New(objstore.S3Config{Endpoint: b.s3.Endpoint, Region: b.s3.Region,
		AccessKeyID: b.s3.AccessKeyID, SecretAccessKey: b.s3.SecretAccessKey, PathStyle: true})

	n := 0
	one := func(what string) (objectRun, error) {
		var r objectRun
		n++
		first := n == 1
		var err error
		if r.Floor, err = b.floorCopy(ctx, src, floorDir, res.Bytes); err != nil {
			return r, fmt.Errorf("%s, floor: %w", what, err)
		}
		key := fmt.Sprintf("aws-%d.bin", n)
		got := filepath.Join(dir, "got", key)
		r.AwsCLI, err = b.hearthCopy(ctx, res, key, got, first,
			func() error {
				_, err := b.aws(ctx, "s3", "cp", "--no-progress", src, "s3://"+bucket+"/"+key)
				return err
			},
			func() error {
				_, err := b.aws(ctx, "s3", "cp", "--no-progress", "s3://"+bucket+"/"+key, got)
				return err
			})
		if err != nil {
			return r, fmt.Errorf("%s, aws CLI: %w", what, err)
		}
		key = fmt.Sprintf("objstore-%d.bin", n)
		got = filepath.Join(dir, "got", key)
		uri := "s3://" + bucket + "/" + key
		r.ObjStore, err = b.hearthCopy(ctx, res, key, got, first,
			func() error { return objstore.Upload(ctx, store, src, uri) },
			func() error { return objstore.Download(ctx, store, uri, got) })
		if err != nil {
			return r, fmt.Errorf("%s, objstore: %w", what, err)
		}
		d, err := b.aws(ctx, "s3api", "head-bucket", "--bucket", bucket)
		if err != nil {
			return r, fmt.Errorf("%s: %w", what, err)
		}
		r.AwsStartS = seconds(d)
		fmt.Fprintf(os.Stderr, "%s: cp in %.2fs out %.2fs | aws put %.2fs get %.2fs | objstore put %.2fs get %.2fs | aws head-bucket %.2fs\n",
			what, r.Floor.PutS, r.Floor.GetS, r.AwsCLI.PutS, r.AwsCLI.GetS, r.ObjStore.PutS, r.ObjStore.GetS, r.AwsStartS)
		return r, nil
	}
	if res.Runs, err = benchutil.Runs("object", b.cfg.warmup, b.cfg.runs, one); err != nil {
		return nil, err
	}
	os.Remove(src)

	var fp, fg, ap, ag, op, og, hb []float64
	for _, r := range res.Runs {
		fp, fg = append(fp, r.Floor.PutS), append(fg, r.Floor.GetS)
		ap, ag = append(ap, r.AwsCLI.PutS), append(ag, r.AwsCLI.GetS)
		op, og = append(op, r.ObjStore.PutS), append(og, r.ObjStore.GetS)
		hb = append(hb, r.AwsStartS)
	}
	s := &res.Summary
	s.Floor = summarizeSide(res.Bytes, fp, fg, nil)
	s.AwsCLI = summarizeSide(res.Bytes, ap, ag, &s.Floor)
	s.ObjStore = summarizeSide(res.Bytes, op, og, &s.Floor)
	s.AwsStart = distOf(hb)
	return res, nil
}

func summarizeSide(bytes int64, put, get []float64, floor *sideSummary) sideSummary {
	s := sideSummary{Put: distOf(put), Get: distOf(get)}
	mbps := func(sec float64) float64 {
		if sec <= 0 {
			return 0
		}
		return round1(float64(bytes) / sec / 1e6)
	}
	s.PutMBps, s.GetMBps = mbps(s.Put.Median), mbps(s.Get.Median)
	if floor == nil {
		floor = &s
	}
	s.PutRatio, s.PutRatioMin = benchutil.Ratio(s.Put.Median, floor.Put.Median), benchutil.Ratio(s.Put.Min, floor.Put.Min)
	s.GetRatio, s.GetRatioMin = benchutil.Ratio(s.Get.Median, floor.Get.Median), benchutil.Ratio(s.Get.Min, floor.Get.Min)
	return s
}

// floorCopy is the floor: cp the source to a new file (in), then that file
// to another new file (out), both in dir, on the same filesystem as the
// store's buckets.
func (b *bench) floorCopy(ctx context.Context, src, dir string, size int64) (copyTimes, error) {
	var t copyTimes
	in, out := filepath.Join(dir, "object.bin"), filepath.Join(dir, "back.bin")
	defer os.Remove(in)
	defer os.Remove(out)
	d, err := b.timed(func() error { return b.cp(ctx, src, in) })
	if err != nil {
		return t, err
	}
	t.PutS = seconds(d)
	if d, err = b.timed(func() error { return b.cp(ctx, in, out) }); err != nil {
		return t, err
	}
	t.GetS = seconds(d)
	for _, p := range []string{in, out} {
		if fi, err := os.Stat(p); err != nil || fi.Size() != size {
			return t, fmt.Errorf("cp: %s is not %d bytes (%v)", p, size, err)
		}
	}
	return t, nil
}

func (b *bench) cp(ctx context.Context, src, dst string) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "cp", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("cp %s %s: %v: %s", src, dst, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// hearthCopy times put and get of key through the store, then checks what
// the store holds and what came back, and deletes both (untimed).
func (b *bench) hearthCopy(ctx context.Context, res *objectResult, key, got string, hashStored bool, put, get func() error) (copyTimes, error) {
	var t copyTimes
	defer os.Remove(got)
	d, err := b.timed(put)
	if err != nil {
		return t, err
	}
	t.PutS = seconds(d)
	stored := filepath.Join(b.hearth.Home, "s3", "buckets", bucket, key)
	if fi, err := os.Stat(stored); err != nil || fi.Size() != res.Bytes {
		b.warn("put s3://%s/%s: the store's file %s is not %d bytes (%v)", bucket, key, stored, res.Bytes, err)
	} else if hashStored {
		if sum, err := fileSHA256(stored); err != nil || sum != res.SHA256 {
			b.warn("put s3://%s/%s: the store's file %s has SHA-256 %s (%v), not the source's %s", bucket, key, stored, sum, err, res.SHA256)
		}
	}
	if d, err = b.timed(get); err != nil {
		return t, err
	}
	t.GetS = seconds(d)
	if sum, err := fileSHA256(got); err != nil || sum != res.SHA256 {
		b.warn("get s3://%s/%s: %s has SHA-256 %s (%v), not the source's %s", bucket, key, got, sum, err, res.SHA256)
	}
	if _, err := b.aws(ctx, "s3", "rm", "s3://"+bucket+"/"+key); err != nil {
		return t, err
	}
	return t, nil
}

// timed runs f after sync(2), so that it does not pay for the writeback
// of what ran before it, and returns how long f took.
func (b *bench) timed(f func() error) (time.Duration, error) {
	syscall.Sync()
	t0 := time.Now()
	err := f()
	return time.Since(t0), err
}

// writeRandom writes size random bytes to path and returns their SHA-256:
// incompressible, so no layer can make them smaller.
func writeRandom(path string, size int64) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.CopyN(io.MultiWriter(f, h), rand.Reader, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func seconds(d time.Duration) float64 { return benchutil.Round3(d.Seconds()) }
