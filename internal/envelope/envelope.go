// Package envelope holds the SMTP envelope of one message as the guard
// received it. It is a plain data type shared by the front end, the policy
// engine and the store; it imports nothing of ours.
package envelope

import "time"

// Envelope is what the SMTP transaction said about a message, apart from its
// bytes. The envelope, not the headers, decides who receives the message.
type Envelope struct {
	ID         string    // the guard's message ID, used everywhere
	Received   time.Time // when DATA completed
	ClientAddr string    // remote IP (no port)
	Helo       string
	AuthUser   string // authenticated user name, "" for trusted-network relays
	From       string // envelope sender; "" is the null sender <>
	Params     MailParams
	Rcpts      []Rcpt // in RCPT TO order, duplicates removed
}

// MailParams are the MAIL FROM parameters that are passed on upstream.
type MailParams struct {
	SMTPUTF8 bool
	Body     string // "", "7BIT", "8BITMIME" or "BINARYMIME"
	Ret      string // DSN RET: "", "FULL" or "HDRS"
	EnvID    string // DSN ENVID (xtext-decoded)
}

// Rcpt is one envelope recipient with its DSN parameters.
type Rcpt struct {
	Addr   string
	Notify []string // DSN NOTIFY: NEVER, SUCCESS, FAILURE, DELAY; empty = default
	ORcpt  string   // DSN ORCPT, as "type;addr" (xtext-decoded)
}

// Addrs returns the recipient addresses.
func (e *Envelope) Addrs() []string {
	out := make([]string, len(e.Rcpts))
	for i, r := range e.Rcpts {
		out[i] = r.Addr
	}
	return out
}
