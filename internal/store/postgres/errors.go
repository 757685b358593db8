package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/egressguard/egressguard/internal/store"
)

var (
	// ErrUnavailable wraps every error that comes from not reaching the
	// database (refused or lost connection, no answer in time, server
	// shutting down) rather than from what was asked of it. Nothing was
	// stored, or, if the connection was lost during the commit, the outcome
	// is unknown; either way the SMTP front end answers 451 and the client
	// retries.
	ErrUnavailable = errors.New("postgres: database unavailable")
	// errTxDone is returned by a Tx used after its function returned.
	errTxDone = errors.New("postgres: transaction used after its update function returned")
)

// SQLSTATE codes the store acts on.
const (
	codeUniqueViolation    = "23505"
	codeDiskFull           = "53100"
	codeTooManyConnections = "53300"
	codeDeadlock           = "40P01"
	codeAdminShutdown      = "57P01"
	codeCrashShutdown      = "57P02"
	codeCannotConnectNow   = "57P03"
)

// mapErr translates driver errors into the store's sentinels, keeping the
// original for the log.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == codeUniqueViolation:
			return fmt.Errorf("%w: %w", store.ErrExists, err)
		case pe.Code == codeDiskFull:
			return fmt.Errorf("%w: %w", store.ErrFull, err)
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == codeTooManyConnections,
			pe.Code == codeAdminShutdown, pe.Code == codeCrashShutdown, pe.Code == codeCannotConnectNow:
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	if unreachable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// unreachable reports whether err says the server could not be reached or
// did not answer, as opposed to an error it reported or a mistake of ours
// (an argument that cannot be encoded).
func unreachable(err error) bool {
	var (
		ce *pgconn.ConnectError
		ne net.Error
	)
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE)
}
