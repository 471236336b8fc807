package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchSeed fixes the benchmark log, so runs compare like with like.
const benchSeed = 1

const cliPackage = "github.com/audicia/audicia/cmd/audicia"

var (
	buildOnce sync.Once
	buildDir  string
	builtBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// BenchmarkAnalyze runs `audicia analyze -o json -f LOG` end to end on a
// synthetic audit log of BENCH_REQUESTS requests (default 1,000,000), kept in
// BENCH_DIR (default $TMPDIR/audicia-bench) across runs. AUDICIA_BIN selects
// the binary; without it the CLI is built from this module. It reports
// requests/s, MB/s of log read and the CLI's peak RSS; it asserts no speed,
// only that the command succeeds and writes JSON.
func BenchmarkAnalyze(b *testing.B) {
	requests := envInt(b, "BENCH_REQUESTS", 1_000_000)
	dir := os.Getenv("BENCH_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "audicia-bench")
	}
	bin := audiciaBinary(b)

	start := time.Now()
	path, st, err := EnsureLog(dir, requests, benchSeed)
	if err != nil {
		b.Fatalf("preparing the audit log: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	size := fi.Size()
	b.Logf("log %s: %d requests, %d events, %.1f MB (ready in %.1fs)",
		path, st.Requests, st.Lines, float64(size)/1e6, time.Since(start).Seconds())

	var (
		runs    int
		total   time.Duration
		peakRSS int64
		last    analyzeRun
	)
	for b.Loop() {
		run, err := runAnalyze(bin, path)
		if err != nil {
			b.Fatalf("%v\nstderr:\n%s", err, run.stderr)
		}
		runs++
		total += run.wall
		peakRSS = max(peakRSS, run.maxRSS)
		last = run
	}

	secs := total.Seconds() / float64(runs)
	reqPerSec := float64(st.Requests) / secs
	mbPerSec := float64(size) / 1e6 / secs
	rssMB := float64(peakRSS) / 1e6
	b.ReportMetric(reqPerSec, "requests/s")
	b.ReportMetric(mbPerSec, "MB/s")
	b.ReportMetric(rssMB, "peak-RSS-MB")
	rss := "peak RSS unknown on " + runtime.GOOS
	if peakRSS > 0 {
		rss = fmt.Sprintf("peak RSS %.1f MB", rssMB)
	}
	b.Logf("analyze: %d requests (%.1f MB) in %.2fs: %.0f requests/s, %.1f MB/s, %s; JSON report %d bytes",
		st.Requests, float64(size)/1e6, secs, reqPerSec, mbPerSec, rss, last.stdout)
	if s := strings.TrimSpace(last.stderr); s != "" {
		b.Logf("audicia stderr:\n%s", clip(s, 40))
	}
}

type analyzeRun struct {
	wall   time.Duration
	maxRSS int64 // bytes, 0 if unknown
	stdout int64 // bytes of JSON written
	stderr string
}

// runAnalyze runs the CLI once, discarding (but counting) its JSON report.
func runAnalyze(bin, path string) (analyzeRun, error) {
	var out jsonCounter
	var errBuf bytes.Buffer
	cmd := exec.Command(bin, "analyze", "-o", "json", "-f", path)
	cmd.Stdout = &out
	cmd.Stderr = &errBuf
	start := time.Now()
	err := cmd.Run()
	run := analyzeRun{wall: time.Since(start), stdout: out.n, stderr: errBuf.String()}
	if cmd.ProcessState != nil {
		run.maxRSS = maxRSSBytes(cmd.ProcessState)
	}
	switch {
	case err != nil:
		return run, fmt.Errorf("%s analyze -o json -f %s: %w", bin, path, err)
	case out.n == 0:
		return run, fmt.Errorf("%s analyze -o json wrote no JSON to stdout", bin)
	case out.first != '{' && out.first != '[':
		return run, fmt.Errorf("%s analyze -o json wrote %q... to stdout, not a JSON object or array", bin, out.head)
	}
	return run, nil
}

// jsonCounter discards what it is given, counting the bytes and keeping the
// first few.
type jsonCounter struct {
	n     int64
	head  []byte
	first byte // first byte that is not white space
}

func (w *jsonCounter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if len(w.head) < 32 {
		w.head = append(w.head, p[:min(len(p), 32-len(w.head))]...)
	}
	if w.first == 0 {
		if t := bytes.TrimLeft(p, " \t\r\n"); len(t) > 0 {
			w.first = t[0]
		}
	}
	return len(p), nil
}

// audiciaBinary returns $AUDICIA_BIN, or builds the CLI once per test binary.
func audiciaBinary(b *testing.B) string {
	if bin := os.Getenv("AUDICIA_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			b.Fatalf("AUDICIA_BIN: %v", err)
		}
		return bin
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "audicia-bench-bin-")
		if buildErr != nil {
			return
		}
		goTool, err := exec.LookPath("go") // go test puts its own go first in PATH
		if err != nil {
			buildErr = err
			return
		}
		bin := filepath.Join(buildDir, "audicia")
		if runtime.GOOS == "windows" {
			bin += ".exe"
		}
		out, err := exec.Command(goTool, "build", "-o", bin, cliPackage).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build -o %s %s: %v\n%s", bin, cliPackage, err, out)
			return
		}
		builtBin = bin
	})
	if buildErr != nil {
		b.Fatalf("cannot build the audicia CLI (or set AUDICIA_BIN to a built one): %v", buildErr)
	}
	return builtBin
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// clip keeps the first n lines of s.
func clip(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines[n] = "..."
	}
	return strings.Join(lines, "\n")
}
