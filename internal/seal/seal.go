// Package seal encrypts message bodies at rest with AES-256-GCM, so that a
// copy of the database alone reveals no message content. Keys live in a
// key file named by the config, never in the database. The file holds
// several keys for rotation: new bodies are sealed with the newest key,
// and any listed key opens what it sealed.
//
// Key file format: one key per line, "ID:BASE64", where ID is a decimal
// number from 1 to 2^32-1 and BASE64 encodes 32 random bytes (create one
// with `egressguard keygen`). The line with the highest ID is the current
// key. Lines starting with '#' and blank lines are ignored.
//
// Sealed format: 0x01 (version), key ID (4 bytes, big-endian), nonce
// (12 bytes), ciphertext and tag. The message ID is authenticated as
// additional data, so a sealed body cannot be swapped to another record.
package seal

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

const version = 1

var (
	// ErrNoKey: the key that sealed a body is not in the key file.
	ErrNoKey = errors.New("seal: key not available")
	// ErrCorrupt: the sealed bytes are malformed or were altered.
	ErrCorrupt = errors.New("seal: sealed data corrupt or altered")
)

// Keyring seals and opens bodies.
type Keyring struct {
	current uint32
	aeads   map[uint32]cipher.AEAD
}

// New returns a keyring from id → 32-byte key.
func New(keys map[uint32][]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("seal: no keys")
	}
	k := &Keyring{aeads: map[uint32]cipher.AEAD{}}
	for id, key := range keys {
		if id == 0 {
			return nil, errors.New("seal: key ID 0 is reserved")
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("seal: key %d has %d bytes, want 32", id, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		k.aeads[id] = aead
		k.current = max(k.current, id)
	}
	return k, nil
}

// Load reads a key file.
func Load(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("seal: key file %s is readable by others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	keys := map[uint32][]byte{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		idS, b64, ok := strings.Cut(t, ":")
		id, err := strconv.ParseUint(idS, 10, 32)
		if !ok || err != nil || id == 0 {
			return nil, fmt.Errorf("seal: %s line %d: want ID:BASE64 with ID from 1", path, line)
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("seal: %s line %d: key must be 32 bytes in base64", path, line)
		}
		if _, dup := keys[uint32(id)]; dup {
			return nil, fmt.Errorf("seal: %s line %d: key ID %d listed twice", path, line, id)
		}
		keys[uint32(id)] = key
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return New(keys)
}

// NewKeyLine returns a key file line with a new random key.
func NewKeyLine(id uint32) string {
	key := make([]byte, 32)
	rand.Read(key)
	return fmt.Sprintf("%d:%s", id, base64.StdEncoding.EncodeToString(key))
}

// Seal encrypts body for the record msgID with the current key.
func (k *Keyring) Seal(msgID string, body []byte) []byte {
	aead := k.aeads[k.current]
	out := make([]byte, 5+aead.NonceSize(), 5+aead.NonceSize()+len(body)+aead.Overhead())
	out[0] = version
	binary.BigEndian.PutUint32(out[1:5], k.current)
	rand.Read(out[5:])
	return aead.Seal(out, out[5:], body, []byte(msgID))
}

// Open decrypts what Seal produced for msgID.
func (k *Keyring) Open(msgID string, sealed []byte) ([]byte, error) {
	if len(sealed) < 5 || sealed[0] != version {
		return nil, ErrCorrupt
	}
	id := binary.BigEndian.Uint32(sealed[1:5])
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: key %d", ErrNoKey, id)
	}
	ns := aead.NonceSize()
	if len(sealed) < 5+ns+aead.Overhead() {
		return nil, ErrCorrupt
	}
	plain, err := aead.Open(nil, sealed[5:5+ns], sealed[5+ns:], []byte(msgID))
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}
