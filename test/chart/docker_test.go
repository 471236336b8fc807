package chart

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const repoRoot = "../.."

// TestDockerfile checks the image's shape: a golang:1.26 builder making static
// binaries with -trimpath, a distroless static nonroot base, the nonroot user,
// and the operator as the entrypoint.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	require.NoError(t, err)
	df := string(data)
	var from []string
	for _, m := range regexp.MustCompile(`(?m)^FROM\s+(?:--platform=\S+\s+)?(\S+)`).FindAllStringSubmatch(df, -1) {
		from = append(from, m[1])
	}
	assert.Equal(t, []string{"golang:1.26", "gcr.io/distroless/static:nonroot"}, from, "builder and final stage")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/manager", "./cmd/audicia",
		"COPY --from=builder /out/manager /manager", "COPY --from=builder /out/audicia /audicia"} {
		assert.Contains(t, df, want)
	}
	final := df[strings.LastIndex(df, "\nFROM "):]
	assert.Regexp(t, `(?m)^USER 65532:65532$`, final)
	assert.Regexp(t, `(?m)^ENTRYPOINT \["/manager"\]$`, final)
	// The chart runs the image's operator by path and as its user.
	values, err := os.ReadFile(chartDir + "/values.yaml")
	require.NoError(t, err)
	assert.Contains(t, string(values), "runAsUser: 65532")
}

// TestDockerBuildContext builds the binaries as the Dockerfile does, from a
// copy of only what .dockerignore lets into the build context, and checks
// that they are static: the image's build cannot miss a file, and its
// binaries run on distroless/static.
func TestDockerBuildContext(t *testing.T) {
	ignore := readDockerignore(t)
	ctxDir := t.TempDir()
	var files int
	require.NoError(t, filepath.WalkDir(repoRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repoRoot, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if ignore.excludes(rel) || !d.Type().IsRegular() {
			return nil
		}
		files++
		return copyFile(path, filepath.Join(ctxDir, rel))
	}))
	require.NotZero(t, files)
	for _, p := range []string{"go.mod", "go.sum", "cmd/manager/main.go", "cmd/audicia/main.go"} {
		assert.FileExists(t, filepath.Join(ctxDir, p))
	}
	assert.NoFileExists(t, filepath.Join(ctxDir, "Makefile"), "the context holds only what the image is built from")

	// The Dockerfile's build command, run in the copied context.
	out := filepath.Join(t.TempDir(), "out") + "/"
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./cmd/manager", "./cmd/audicia")
	cmd.Dir = ctxDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build in the build context .dockerignore admits:\n%s", msg)
	for _, bin := range []string{"manager", "audicia"} {
		f, err := elf.Open(filepath.Join(out, bin))
		require.NoError(t, err, bin)
		for _, p := range f.Progs {
			assert.NotEqual(t, elf.PT_INTERP, p.Type, "%s is statically linked (no program interpreter)", bin)
		}
		libs, err := f.ImportedLibraries()
		require.NoError(t, err)
		assert.Empty(t, libs, "%s needs no shared libraries", bin)
		_ = f.Close()
	}

	// And the packages the binaries are built from are all in the context.
	list := exec.Command("go", "list", "-deps", "-json=ImportPath,Dir,Standard", "./cmd/manager", "./cmd/audicia")
	list.Dir = repoRoot
	listOut, err := list.Output()
	require.NoError(t, err)
	abs, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(listOut)))
	for {
		var pkg struct {
			ImportPath, Dir string
			Standard        bool
		}
		if err := dec.Decode(&pkg); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		if rel, err := filepath.Rel(abs, pkg.Dir); err == nil && !strings.HasPrefix(rel, "..") {
			assert.DirExists(t, filepath.Join(ctxDir, rel), "package %s is in the build context", pkg.ImportPath)
		}
	}
}

// dockerignore is the patterns of a .dockerignore, matched as Docker does for
// the forms it uses: the last matching pattern wins, `!` re-includes, a
// pattern that matches a directory matches everything under it, `*` stays in
// one path element and `**` spans any number.
type dockerignore []struct {
	re      *regexp.Regexp
	include bool
}

func readDockerignore(t *testing.T) dockerignore {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	require.NoError(t, err)
	defer f.Close()
	var d dockerignore
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		include := strings.HasPrefix(line, "!")
		pattern := strings.Trim(strings.TrimPrefix(line, "!"), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(pattern); i++ {
			switch {
			case strings.HasPrefix(pattern[i:], "**/"):
				re.WriteString("(?:.*/)?")
				i += 2
			case strings.HasPrefix(pattern[i:], "**"):
				re.WriteString(".*")
				i++
			case pattern[i] == '*':
				re.WriteString("[^/]*")
			case pattern[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
			}
		}
		re.WriteString("(?:/.*)?$")
		d = append(d, struct {
			re      *regexp.Regexp
			include bool
		}{regexp.MustCompile(re.String()), include})
	}
	require.NoError(t, sc.Err())
	return d
}

func (d dockerignore) excludes(path string) bool {
	excluded := false
	for _, p := range d {
		if p.re.MatchString(path) {
			excluded = !p.include
		}
	}
	return excluded
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}
