package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/egressguard/egressguard/internal/envelope"
	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/sharelink"
	"github.com/egressguard/egressguard/internal/verdict"
)

var update = flag.Bool("update", false, "rewrite testdata/policy/*.want from the current verdicts")

const goldenDir = "../../testdata/policy"

// goldenEnvelope is the optional NN-name.env sidecar.
type goldenEnvelope struct {
	From string   `json:"from"`
	To   []string `json:"to"`
}

// golden is the part of a verdict a .want file pins down.
type golden struct {
	Action    verdict.Action `json:"action"`
	Rules     []string       `json:"rules"`             // enforced rules that matched, in rule order
	Monitor   []string       `json:"monitor,omitempty"` // monitor rules that matched
	Providers []string       `json:"providers"`         // sorted, unique
	URLs      []string       `json:"urls,omitempty"`    // share-link URLs after unwrapping, sorted, unique
	Problems  []string       `json:"problems,omitempty"`
}

// goldenEngine is the setup testdata/policy/README.md describes.
func goldenEngine(t testing.TB) (*Engine, Lists) {
	t.Helper()
	cat, err := sharelink.New(nil, []sharelink.SelfHostedSpec{
		{Kind: "nextcloud", Host: "cloud.example.co.jp"},
		{Kind: "proself", Host: "proself.example.co.jp"},
		{Kind: "seafile", Host: "seafile.example.co.jp"},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := mustEngine(t, Config{InternalDomains: []string{"example.co.jp"}, Rules: DefaultRules(), Catalog: cat})
	// Every recipient counts as a known correspondent, so that the
	// monitor rule on first contact stays out of the content corpus.
	return e, knownAll{mustList(t, "partner.example.net", ".trusted.example", "パートナー.example")}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 50 {
		t.Fatalf("only %d corpus messages", len(files))
	}
	e, lists := goldenEngine(t)
	actions := map[verdict.Action]int{}
	for _, file := range files {
		base := strings.TrimSuffix(file, ".eml")
		name := filepath.Base(base)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			env := &envelope.Envelope{ID: name, From: "taro@example.co.jp", Rcpts: []envelope.Rcpt{{Addr: "client@customer.example"}}}
			if b, err := os.ReadFile(base + ".env"); err == nil {
				var ge goldenEnvelope
				dec := json.NewDecoder(bytes.NewReader(b))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&ge); err != nil || len(ge.To) == 0 {
					t.Fatalf("%s.env: %v (want {\"from\": …, \"to\": […]})", name, err)
				}
				env.Rcpts = nil
				if ge.From != "" {
					env.From = ge.From
				}
				for _, a := range ge.To {
					env.Rcpts = append(env.Rcpts, envelope.Rcpt{Addr: a})
				}
			} else if !os.IsNotExist(err) {
				t.Fatal(err)
			}

			v := e.Evaluate(env, message.Inspect(raw, message.Limits{}), lists, now)
			got := summarize(v)
			actions[got.Action]++
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // keep "&" in URLs readable
			enc.SetIndent("", "  ")
			if err := enc.Encode(got); err != nil {
				t.Fatal(err)
			}
			gotJSON := buf.Bytes()
			wantFile := base + ".want"
			if *update {
				if err := os.WriteFile(wantFile, gotJSON, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(want, gotJSON) {
				full, _ := json.MarshalIndent(v, "", "  ")
				t.Errorf("verdict differs from %s.want\ngot:\n%s\nwant:\n%s\nfull verdict:\n%s", name, gotJSON, want, full)
			}
		})
	}
	// Every .want and .env belongs to a message.
	for _, ext := range []string{".want", ".env"} {
		others, _ := filepath.Glob(filepath.Join(goldenDir, "*"+ext))
		for _, o := range others {
			if _, err := os.Stat(strings.TrimSuffix(o, ext) + ".eml"); err != nil {
				t.Errorf("%s has no .eml", o)
			}
		}
	}
}

func summarize(v *verdict.Verdict) golden {
	g := golden{Action: v.Action, Rules: []string{}, Providers: []string{}}
	for _, r := range v.Reasons {
		if r.Monitor {
			g.Monitor = append(g.Monitor, r.Rule)
		} else {
			g.Rules = append(g.Rules, r.Rule)
		}
	}
	provs, urls := map[string]bool{}, map[string]bool{}
	for _, l := range v.Links {
		provs[l.Provider] = true
		urls[l.URL] = true
	}
	g.Providers = sortedKeys(provs)
	if len(urls) > 0 {
		g.URLs = sortedKeys(urls)
	}
	kinds := map[string]bool{}
	for _, p := range v.Problems {
		kinds[p.Kind] = true
	}
	if len(kinds) > 0 {
		g.Problems = sortedKeys(kinds)
	}
	return g
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
