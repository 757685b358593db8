package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/egressguard/egressguard/internal/store"
)

// outboxEnvelope is the ID.json written beside ID.eml in outbox mode.
type outboxEnvelope struct {
	ID       string       `json:"id"`
	From     string       `json:"from"` // "" is the null sender
	Rcpts    []outboxRcpt `json:"rcpts"`
	Params   outboxParams `json:"params"`
	Received time.Time    `json:"received"`
	AuthUser string       `json:"auth_user,omitempty"`
}

type outboxRcpt struct {
	Addr   string   `json:"addr"`
	Notify []string `json:"notify,omitempty"`
	ORcpt  string   `json:"orcpt,omitempty"`
}

type outboxParams struct {
	SMTPUTF8 bool   `json:"smtputf8,omitempty"`
	Body     string `json:"body,omitempty"`
	Ret      string `json:"ret,omitempty"`
	EnvID    string `json:"envid,omitempty"`
}

// toOutbox "delivers" to the outbox folder: ID.eml holds the exact bytes,
// ID.json the envelope (the recipients still pending). Each file is
// written to a temporary name, synced, renamed and the directory synced,
// .eml first, so that a complete ID.json means a complete ID.eml.
func (q *Queue) toOutbox(ctx context.Context, m *store.Message, body *msgBody, idx []int) outcome {
	var out outcome
	p := m.Params
	env := outboxEnvelope{
		ID: m.ID, From: m.From, Received: m.Received, AuthUser: m.AuthUser,
		Params: outboxParams{SMTPUTF8: p.SMTPUTF8, Body: p.Body, Ret: p.Ret, EnvID: p.EnvID},
	}
	for _, i := range idx {
		r := m.Rcpts[i]
		env.Rcpts = append(env.Rcpts, outboxRcpt{Addr: r.Addr, Notify: r.Notify, ORcpt: r.ORcpt})
	}
	js, err := json.MarshalIndent(env, "", "  ")
	if err == nil {
		var r io.ReadCloser
		if r, err = body.reader(ctx); err == nil {
			err = writeDurable(q.cfg.OutboxDir, m.ID+".eml", r)
			r.Close()
		}
	}
	if err == nil {
		err = writeDurable(q.cfg.OutboxDir, m.ID+".json", bytes.NewReader(append(js, '\n')))
	}
	if err != nil {
		out.fail(idx, false, 0, "4.3.0 writing outbox: "+err.Error())
		return out
	}
	for _, i := range idx {
		out.rcpts = append(out.rcpts, accepted(i, 250, "2.0.0 written to outbox"))
	}
	return out
}

// writeDurable writes dir/name atomically and durably.
func writeDurable(dir, name string, data io.Reader) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = io.Copy(f, data); err != nil {
		f.Close()
		return err
	}
	if err = f.Chmod(0o640); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
