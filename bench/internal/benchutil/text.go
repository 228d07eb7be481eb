package benchutil

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// GenText writes a text of about size bytes to path with gentext (the
// path of examples/gentext.py; seed 7, so every run gets the same text)
// and returns its number of words. gentext takes a number of words, so its
// words per byte are measured on a sample first.
func GenText(ctx context.Context, gentext, path string, size int64, timeout time.Duration) (int, error) {
	gen := func(out string, words int) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "python3", gentext, out, strconv.Itoa(words), "7")
		cmd.Env = CleanEnv()
		if o, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("python3 %s %s %d 7: %v: %s", gentext, out, words, err, strings.TrimSpace(string(o)))
		}
		return nil
	}
	const sample = 100000
	sp := path + ".sample"
	if err := gen(sp, sample); err != nil {
		return 0, err
	}
	fi, err := os.Stat(sp)
	os.Remove(sp)
	if err != nil || fi.Size() == 0 {
		return 0, fmt.Errorf("gentext wrote no sample (%v)", err)
	}
	words := int(math.Ceil(float64(size) * sample / float64(fi.Size())))
	return words, gen(path, words)
}
