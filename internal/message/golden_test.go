package message

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the .golden files of testdata/message from the current output")

const corpusDir = "../../testdata/message"

// TestGolden inspects every message of the corpus and compares the facts
// with the .golden file next to it. After a deliberate change, run
// go test ./internal/message -run TestGolden -update and review the diff.
func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".eml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(Inspect(raw, Limits{}), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(file, ".eml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("facts differ from %s (-want +got):\n%s", golden, cmp.Diff(string(want), string(got)))
			}
		})
	}
}

// TestCorpusFiles opens the Office documents of the corpus directly.
func TestCorpusFiles(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"share-links.docx": {
			"https://cloud.example.co.jp/index.php/s/AbCdEfGhIjKlMnO",
			"https://1drv.ms/w/s!AbCdEfGhIjKl?e=Docx",
			"https://support.microsoft.com/office",
		},
		"share-links.xlsx": {
			"https://wetransfer.com/downloads/0123456789abcdef/fedcba",
			"https://www.icloud.com/iclouddrive/0AbCdEfGhIjKl#report",
			"https://app.box.com/s/xlsxFormula",
		},
	}
	for name, want := range tests {
		data, err := os.ReadFile(filepath.Join(corpusDir, "files", name))
		if err != nil {
			t.Fatal(err)
		}
		f := Inspect(mailWith(name, "application/octet-stream", data), Limits{})
		noProblems(t, f)
		var got []string
		for _, l := range f.Links {
			got = append(got, l.URL)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s links (-want +got):\n%s", name, diff)
		}
	}
}
