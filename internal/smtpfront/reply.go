package smtpfront

import (
	"errors"
	"fmt"

	"github.com/emersion/go-smtp"

	"github.com/egressguard/egressguard/internal/store"
	"github.com/egressguard/egressguard/internal/verdict"
)

// Replies carry an enhanced status code (RFC 3463) and generic text. What
// went wrong inside (rule names, paths, SQL) goes to the log, never here.

func reply(code int, class, subject, detail int, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{class, subject, detail}, Message: msg}
}

// withID is the reply with the message ID appended, so that a user's
// complaint can be matched with the log.
func withID(e *smtp.SMTPError, id string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: e.Code, EnhancedCode: e.EnhancedCode, Message: e.Message + " [" + id + "]"}
}

var (
	replyAuthRequired   = reply(530, 5, 7, 0, "Authentication required")
	replyTLSRequired    = reply(538, 5, 7, 11, "Encryption required for requested authentication mechanism")
	replyBadCredentials = reply(535, 5, 7, 8, "Authentication credentials invalid")
	replyAuthTempFail   = reply(454, 4, 7, 0, "Temporary authentication failure, try again later")
	replyAuthLimit      = reply(421, 4, 7, 0, "Too many authentication failures, try again later")
	replyAuthMalformed  = reply(501, 5, 5, 2, "Malformed authentication data")
	replyAuthInTx       = reply(503, 5, 5, 1, "AUTH not permitted during a mail transaction")
	replySenderNotOwned = reply(553, 5, 7, 1, "Sender address not allowed for this account")
	replyNullSender     = reply(553, 5, 7, 1, "Null sender not allowed for authenticated submission")
	replyBadSender      = reply(501, 5, 1, 7, "Bad sender address syntax")
	replyBadRcpt        = reply(501, 5, 1, 3, "Bad recipient address syntax")
	replyNeedsUTF8      = reply(553, 5, 6, 7, "Non-ASCII address requires SMTPUTF8")
	replyBadParam       = reply(501, 5, 5, 4, "Malformed parameter value")
	replyTooManyRcpts   = reply(452, 4, 5, 3, "Too many recipients")
	replySizeExceeded   = reply(552, 5, 3, 4, "Message size exceeds fixed maximum message size")
	replyShuttingDown   = reply(421, 4, 3, 2, "Service shutting down, try again later")
	replyNoTransaction  = reply(503, 5, 5, 1, "No mail transaction in progress")

	// Per message; withID adds the ID.
	replyBareLF      = reply(554, 5, 6, 0, "Bare LF in message data not allowed")
	replyBareCR      = reply(554, 5, 6, 0, "Bare CR in message data not allowed")
	replyBadEnd      = reply(554, 5, 6, 0, "Malformed end of message data")
	replyEarlyData   = reply(554, 5, 5, 0, "Message data sent before the 354 reply (improper pipelining)")
	replyLineTooLong = reply(500, 5, 5, 2, "Line too long")
	replyDataTimeout = reply(421, 4, 4, 2, "Timeout waiting for message data, closing connection")
	replyDataAborted = reply(451, 4, 3, 0, "Message transfer aborted")
	replyPolicy      = reply(550, 5, 7, 1, "Message refused by policy")
	replyHeaderFrom  = reply(550, 5, 7, 1, "Header From address not allowed for this account")
	replyTooManyHops = reply(554, 5, 4, 6, "Too many hops (mail loop?)")
	replyStorageFull = reply(452, 4, 3, 1, "Insufficient system storage, try again later")
	replyTempFailure = reply(451, 4, 3, 0, "Temporary local problem, try again later")
)

// Result labels of egressguard_smtp_messages_total and of the transaction
// log line.
const (
	resultQueued   = "queued"
	resultHeld     = "held"
	resultRejected = "rejected"
	resultTempfail = "tempfail"
)

// submitReply is the one place that turns what the backend did with a
// message into the reply the client sees, with the metric result. A
// *smtp.SMTPError from the backend is passed through as it is: the backend
// chose those words for the client.
func submitReply(id string, res Result, err error) (*smtp.SMTPError, string) {
	if err != nil {
		var se *smtp.SMTPError
		switch {
		case errors.As(err, &se):
			if se.Code/100 == 2 {
				// A success must not come through the error path:
				// nothing says the message was stored.
				return withID(replyTempFailure, id), resultTempfail
			}
			if se.Temporary() {
				return se, resultTempfail
			}
			return se, resultRejected
		case errors.Is(err, store.ErrFull):
			return withID(replyStorageFull, id), resultTempfail
		default:
			return withID(replyTempFailure, id), resultTempfail
		}
	}
	switch res.Action {
	case verdict.Pass:
		return reply(250, 2, 0, 0, "Ok: queued as "+id), resultQueued
	case verdict.Hold:
		return reply(250, 2, 0, 0, "Ok: held for review as "+id), resultHeld
	case verdict.Delay:
		return reply(250, 2, 0, 0, "Ok: delayed, cancel or send now in the console; queued as "+id), resultHeld
	case verdict.Confirm:
		return reply(250, 2, 0, 0, "Ok: waiting for your confirmation (see the notice) as "+id), resultHeld
	case verdict.Reject:
		return withID(replyPolicy, id), resultRejected
	default:
		// An action we do not know: never say 250 for it.
		return withID(replyTempFailure, id), resultTempfail
	}
}

// errUnknownAction is logged when the backend returns an action the front
// end does not know.
func errUnknownAction(a verdict.Action) error {
	return fmt.Errorf("smtpfront: backend returned unknown action %q", a)
}
