package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTripAndRotation(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "keys")
	if err := os.WriteFile(p, []byte("# old key\n"+NewKeyLine(1)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k1, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("Subject: 患者名簿\r\n\r\n山田太郎 ...\r\n")
	old := k1.Seal("msg1", body)
	if bytes.Contains(old, []byte("患者")) || bytes.Contains(old, []byte("Subject")) {
		t.Fatal("plaintext visible in sealed data")
	}
	// Rotate: add key 2; old bodies still open, new ones use key 2.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(NewKeyLine(2) + "\n")
	f.Close()
	k2, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k2.Open("msg1", old)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("open old: %v", err)
	}
	nw := k2.Seal("msg2", body)
	if nw[4] != 2 {
		t.Errorf("new body sealed with key %d", nw[4])
	}
	if _, err := k1.Open("msg2", nw); !errors.Is(err, ErrNoKey) {
		t.Errorf("old keyring opening new key: %v", err)
	}
}

func TestTamperAndSwap(t *testing.T) {
	k, err := New(map[uint32][]byte{7: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	s := k.Seal("a", []byte("hello"))
	if _, err := k.Open("b", s); !errors.Is(err, ErrCorrupt) {
		t.Errorf("body moved to another record: %v", err)
	}
	for i := range s {
		c := bytes.Clone(s)
		c[i] ^= 0x40
		if _, err := k.Open("a", c); err == nil {
			t.Fatalf("flipped byte %d not detected", i)
		}
	}
	if _, err := k.Open("a", s[:10]); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short: %v", err)
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		text string
		mode os.FileMode
		want string
	}{
		"world-readable": {NewKeyLine(1) + "\n", 0o644, "readable by others"},
		"short key":      {"1:AAAA\n", 0o600, "32 bytes"},
		"id zero":        {strings.Replace(NewKeyLine(1), "1:", "0:", 1) + "\n", 0o600, "ID from 1"},
		"duplicate":      {NewKeyLine(3) + "\n" + NewKeyLine(3) + "\n", 0o600, "twice"},
		"empty":          {"# nothing\n", 0o600, "no keys"},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		os.WriteFile(p, []byte(c.text), c.mode)
		os.Chmod(p, c.mode)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
}
