package docs

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium returns the path of a Chromium binary, or skips the test with
// the reason when there is none (CI installs one: see .ci/run).
func chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed — the browser tests need it (CI installs it in .ci/run; locally: apt-get install chromium)")
	return ""
}

// headless runs Chromium headless with a fresh profile and no network
// services, with extra arguments, and returns its standard output.
func headless(t testing.TB, bin string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir()}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, stderr.String())
	}
	return string(out)
}

// dumpDOM loads url and returns the DOM after the page's scripts ran.
func dumpDOM(t testing.TB, bin, url string) string {
	t.Helper()
	dom := headless(t, bin, "--virtual-time-budget=5000", "--dump-dom", url)
	if !strings.Contains(dom, "data-ready-ms=") {
		t.Fatalf("the page's script did not finish on %s:\n%.2000s", url, dom)
	}
	return dom
}

// xssProbe is user text that would run script if the page inserted it as
// HTML: every hit sets an attribute the test looks for.
const xssProbe = `<script>document.documentElement.setAttribute('data-pwned','script')</script>` +
	`<img src=x onerror="document.documentElement.setAttribute('data-pwned','img')">` +
	`</script><svg onload="document.documentElement.setAttribute('data-pwned','svg')">`

func TestBrowserExample(t *testing.T) {
	bin := chromium(t)
	m, l := exampleLineage(t)
	ts := m.Nodes["model.training_set"]
	ts.Description = "Training set. " + xssProbe
	ts.Meta = map[string]any{"owner": xssProbe, "team": "ml"}
	ts.Columns[0].Description = xssProbe
	m.Nodes["model.user_features"].CompiledSQL += "\n-- " + xssProbe
	dir := t.TempDir()
	if err := Generate(dir, Collect(Input{Manifest: m, Lineage: l})); err != nil {
		t.Fatal(err)
	}
	base := "file://" + filepath.ToSlash(dir) + "/index.html"

	t.Run("index lists every model", func(t *testing.T) {
		dom := dumpDOM(t, bin, base+"#/")
		for _, id := range m.IDs() {
			if id.Type() == "model" && !strings.Contains(dom, `data-id="`+string(id)+`"`) {
				t.Errorf("the index does not list %s", id)
			}
		}
	})
	t.Run("model page shows columns and lineage", func(t *testing.T) {
		dom := dumpDOM(t, bin, base+"#/model/user_features")
		for _, want := range []string{`<h1 id="title">user_features</h1>`, `data-column="spend_7d"`, `data-column="days_since_last_login"`,
			`fct_user_daily.spend_eur`, `>window<`, `id="sql"`} {
			if !strings.Contains(dom, want) {
				t.Errorf("the user_features page lacks %q", want)
			}
		}
	})
	t.Run("source page", func(t *testing.T) {
		dom := dumpDOM(t, bin, base+"#/source/raw.purchases")
		if !strings.Contains(dom, `<h1 id="title">raw.purchases</h1>`) || !strings.Contains(dom, `stg_purchases.amount`) {
			t.Errorf("the raw.purchases page lacks its title or its downstream lineage:\n%.3000s", dom)
		}
	})
	t.Run("search finds a model", func(t *testing.T) {
		dom := dumpDOM(t, bin, base+"#/search/training")
		hits := regexp.MustCompile(`data-id="([^"]+)"`).FindAllStringSubmatch(dom, -1)
		if len(hits) == 0 || hits[0][1] != "model.training_set" {
			t.Errorf("searching training gives %v, want model.training_set first", hits)
		}
		for _, h := range hits {
			if h[1] == "model.stg_logins" {
				t.Errorf("searching training lists stg_logins")
			}
		}
	})
	t.Run("xss probe stays inert", func(t *testing.T) {
		for _, page := range []string{"#/", "#/model/training_set", "#/model/user_features", "#/search/script"} {
			dom := dumpDOM(t, bin, base+page)
			if strings.Contains(dom, `data-pwned="`) {
				t.Fatalf("injected markup ran on %s", page)
			}
			if strings.Contains(dom, "<img src=\"x\"") || strings.Contains(dom, "<svg") {
				t.Fatalf("injected markup became elements on %s", page)
			}
		}
		dom := dumpDOM(t, bin, base+"#/model/training_set")
		if !strings.Contains(dom, "&lt;script&gt;document.documentElement") {
			t.Errorf("the probe is not shown as text on the training_set page")
		}
	})
	t.Run("screenshot", func(t *testing.T) {
		out, err := filepath.Abs(filepath.Join("..", "target", "docs-screenshot.png"))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(out), 0o755)
		os.Remove(out)
		headless(t, bin, "--window-size=1280,900", "--virtual-time-budget=5000", "--screenshot="+out, base+"#/model/user_features")
		if st, err := os.Stat(out); err != nil || st.Size() < 10000 {
			t.Fatalf("no screenshot at %s: %v", out, err)
		}
		t.Logf("screenshot: %s", out)
	})
}
