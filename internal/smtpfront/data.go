package smtpfront

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/envelope"
)

// readChunk bounds one read of message data. go-smtp's strict reader
// returns what it has when no more is buffered, so a read deadline per read
// is a limit on silence.
const readChunk = 64 << 10

// initialDataBuf is the buffer for a message without a SIZE hint; it grows
// by doubling.
const initialDataBuf = 32 << 10

// spoolAbove is the most of a message a session keeps in memory while it
// is received, when a spool directory is configured: a longer message goes
// to a spool file as it arrives, so that a session holds no more than
// this, and readChunk, however large its message. 2 KB and 100 KB messages
// stay in memory and never touch the disk before the store.
const spoolAbove = 256 << 10

var (
	errTooLarge = errors.New("smtpfront: message too large")
	errSpool    = errors.New("smtpfront: spooling the message failed")
)

// traceRoom is the space kept in front of a message for the guard's
// Received: field, so that prepending it copies nothing. A longer field
// (a very long host name) costs one copy.
const traceRoom = 1024

// dataBuf receives a message: in memory, sized from the SIZE hint, never
// beyond the limit, handed to the backend without a copy; or, beyond
// spoolAbove, in a spool file that load reads back into memory once the
// message is complete and the memory budget admits it.
type dataBuf struct {
	all   []byte // traceRoom bytes of room, then the message
	b     []byte // the message (in memory): all[traceRoom:], sharing its array
	max   int64
	probe [1]byte

	dir     string   // spool directory; "" keeps every message in memory
	spool   *os.File // the spool file, once the message went there
	chunk   []byte   // spooled bytes not yet written
	spooled int64    // bytes written to the spool file
	// The spool is encrypted (AES-256-CTR) under a key that exists only
	// in this session's memory, so that neither a file a crash left
	// behind nor the disk blocks a deleted one freed reveal the message,
	// whatever the store's encryption at rest promises.
	key, iv []byte
	enc     cipher.Stream
}

func newDataBuf(hint, limit int64, dir string) *dataBuf {
	n := int64(initialDataBuf)
	if hint > 0 {
		n = hint
	}
	if dir != "" {
		n = min(n, spoolAbove)
	}
	d := &dataBuf{max: limit, dir: dir}
	d.alloc(0, min(n, limit))
	return d
}

// size is the length of the message so far.
func (d *dataBuf) size() int64 {
	if d.spool != nil {
		return d.spooled + int64(len(d.chunk))
	}
	return int64(len(d.b))
}

// alloc gives the buffer a new array of capacity n for the message, with
// the room in front, and keeps the first keep bytes of the message.
func (d *dataBuf) alloc(keep int, n int64) {
	all := make([]byte, traceRoom, traceRoom+n)
	d.all = all
	nb := all[traceRoom : traceRoom+keep]
	copy(nb, d.b)
	d.b = nb
}

// read reads from r once. It returns errTooLarge once the message turns out
// longer than the limit, and an error wrapping errSpool if the spool file
// cannot be written.
func (d *dataBuf) read(r io.Reader) error {
	if d.spool != nil {
		return d.readSpooled(r)
	}
	if len(d.b) == cap(d.b) {
		// Full: if the data ends here (a correct SIZE hint), it stays
		// the size it is.
		n, err := r.Read(d.probe[:])
		if errors.Is(err, smtp.ErrDataTooLarge) || (n > 0 && int64(len(d.b)) >= d.max) {
			return errTooLarge
		}
		if n == 0 {
			return err
		}
		grow := min(max(2*int64(cap(d.b)), initialDataBuf), d.max)
		if d.dir != "" && grow > spoolAbove {
			if serr := d.startSpool(); serr != nil {
				return serr
			}
			d.chunk = append(d.chunk, d.probe[0])
			return err
		}
		d.alloc(len(d.b), grow)
		d.b = append(d.b, d.probe[0])
		return err
	}
	end := min(cap(d.b), len(d.b)+readChunk)
	n, err := r.Read(d.b[len(d.b):end])
	d.b = d.b[:len(d.b)+n]
	if errors.Is(err, smtp.ErrDataTooLarge) {
		return errTooLarge
	}
	return err
}

// startSpool moves the message received so far into a new spool file. The
// file is unlinked at once: it lives only as long as it is open, so no
// path (an error, a lost client, a crash) leaves it behind.
func (d *dataBuf) startSpool() error {
	f, err := os.CreateTemp(d.dir, spoolPattern)
	if err != nil {
		return fmt.Errorf("%w: %w", errSpool, err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return fmt.Errorf("%w: %w", errSpool, err)
	}
	d.key, d.iv = make([]byte, 32), make([]byte, aes.BlockSize)
	rand.Read(d.key)
	rand.Read(d.iv)
	d.enc = spoolCipher(d.key, d.iv)
	d.enc.XORKeyStream(d.b, d.b) // the memory copy is dropped below
	if _, err := f.Write(d.b); err != nil {
		f.Close()
		return fmt.Errorf("%w: %w", errSpool, err)
	}
	d.spool, d.spooled = f, int64(len(d.b))
	d.all, d.b = nil, nil
	d.chunk = make([]byte, 0, readChunk)
	return nil
}

func (d *dataBuf) readSpooled(r io.Reader) error {
	if len(d.chunk) == cap(d.chunk) {
		if err := d.flushSpool(); err != nil {
			return err
		}
	}
	n, err := r.Read(d.chunk[len(d.chunk):cap(d.chunk)])
	d.chunk = d.chunk[:len(d.chunk)+n]
	if errors.Is(err, smtp.ErrDataTooLarge) || d.size() > d.max {
		return errTooLarge
	}
	return err
}

func (d *dataBuf) flushSpool() error {
	d.enc.XORKeyStream(d.chunk, d.chunk)
	if _, err := d.spool.Write(d.chunk); err != nil {
		return fmt.Errorf("%w: %w", errSpool, err)
	}
	d.spooled += int64(len(d.chunk))
	d.chunk = d.chunk[:0]
	return nil
}

// load brings a spooled message into memory, after the memory budget has
// admitted it, and closes the spool file. The spool also gives the
// message as a stream (an io.SectionReader over the file and its size),
// for a store that takes one.
func (d *dataBuf) load() error {
	if d.spool == nil {
		return nil
	}
	if err := d.flushSpool(); err != nil {
		return err
	}
	all := make([]byte, traceRoom+d.spooled)
	if _, err := io.ReadFull(io.NewSectionReader(d.spool, 0, d.spooled), all[traceRoom:]); err != nil {
		return fmt.Errorf("%w: reading back: %w", errSpool, err)
	}
	spoolCipher(d.key, d.iv).XORKeyStream(all[traceRoom:], all[traceRoom:])
	d.all, d.b = all, all[traceRoom:]
	d.discard()
	return nil
}

// discard closes the spool file, if any: the message is gone from disk,
// and its key from memory.
func (d *dataBuf) discard() {
	if d.spool != nil {
		d.spool.Close()
		d.spool, d.chunk = nil, nil
		clear(d.key)
		d.key, d.iv, d.enc = nil, nil, nil
	}
}

// spoolCipher is the spool's keystream from its start.
func spoolCipher(key, iv []byte) cipher.Stream {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	return cipher.NewCTR(b, iv)
}

// withHeader returns h followed by the message, in the room in front of it
// when h fits there.
func (d *dataBuf) withHeader(h []byte) []byte {
	if len(h) > traceRoom {
		out := make([]byte, 0, len(h)+len(d.b))
		return append(append(out, h...), d.b...)
	}
	start := traceRoom - len(h)
	full := d.all[:traceRoom+len(d.b)]
	copy(full[start:], h)
	return full[start:]
}

func (s *session) Data(r io.Reader) error {
	c := s.c
	if !c.enter() {
		return replyShuttingDown // the connection is gone; nobody reads this
	}
	defer c.leave()
	s.mu.Lock()
	tx := s.tx
	if tx != nil {
		tx.data = true
	}
	s.mu.Unlock()
	if tx == nil {
		return replyNoTransaction
	}
	if br, ok := r.(*smtp.BDATReader); ok {
		tx.chunked = true
		return s.dataBDAT(tx, br)
	}
	return s.dataDATA(tx, r)
}

// dataDATA reads the message of a DATA command through go-smtp's strict
// reader, which refuses anything that is not a clean CRLF message ending
// in CRLF.CRLF.
func (s *session) dataDATA(tx *txn, r io.Reader) error {
	c, srv := s.c, s.c.s
	nc := s.sc.Conn()
	buf := newDataBuf(tx.sizeHint, srv.cfg.MaxMessageBytes, srv.cfg.SpoolDir)
	defer buf.discard()
	var rerr error
	for rerr == nil {
		nc.SetReadDeadline(time.Now().Add(srv.cfg.DataTimeout))
		rerr = buf.read(r)
	}
	size := buf.size()
	switch {
	case rerr == io.EOF:
		return s.submit(tx, buf)
	case errors.Is(rerr, errSpool):
		// go-smtp reads the rest of the data and replies.
		return s.spoolFailed(tx, size, rerr)
	case isViolation(rerr):
		// go-smtp closes the connection after the reply; closing it
		// here also keeps its reply to the commands it may already
		// have buffered from being written.
		rep, reason := violationReply(rerr)
		rep = withID(rep, tx.id)
		srv.m.refuse(reason)
		c.closeWith(rep)
		s.logTx(tx, size, "refused", rep, rerr)
		return rep
	case errors.Is(rerr, errTooLarge):
		// go-smtp reads the rest of the data after this returns and then
		// replies; if the rest does not end cleanly, it closes the
		// connection.
		rep := withID(replySizeExceeded, tx.id)
		srv.m.refuse(reasonSize)
		s.logTx(tx, size, "refused", rep, rerr)
		return rep
	case errors.Is(rerr, smtp.ErrTooLongLine):
		rep := withID(replyLineTooLong, tx.id)
		srv.m.refuse(reasonLineLength)
		c.closeWith(rep)
		s.logTx(tx, size, "refused", rep, rerr)
		return rep
	case errors.Is(rerr, os.ErrDeadlineExceeded):
		rep := withID(replyDataTimeout, tx.id)
		if c.counted.CompareAndSwap(false, true) {
			srv.m.refuse(reasonTimeout)
		}
		c.closeWith(rep)
		s.logTx(tx, size, "refused", rep, rerr)
		return rep
	default:
		// The client went away.
		rep := withID(replyDataAborted, tx.id)
		c.Close()
		s.logTx(tx, size, "aborted", rep, rerr)
		return rep
	}
}

// isViolation reports whether err is a message that breaks the rules of
// SMTP data (from go-smtp's strict reader or from checkLines).
func isViolation(err error) bool {
	for _, v := range []error{smtp.ErrBareLF, smtp.ErrBareCR, smtp.ErrDataBeforeReply, errBareLF, errBareCR, errLongLine} {
		if errors.Is(err, v) {
			return true
		}
	}
	return false
}

func violationReply(err error) (*smtp.SMTPError, string) {
	switch {
	case errors.Is(err, errBareLF), errors.Is(err, smtp.ErrBareLF):
		return replyBareLF, reasonSmuggling
	case errors.Is(err, errBareCR), errors.Is(err, smtp.ErrBareCR):
		return replyBareCR, reasonSmuggling
	case errors.Is(err, smtp.ErrDataBeforeReply):
		return replyEarlyData, reasonPipelining
	case errors.Is(err, errLongLine):
		return replyLineTooLong, reasonLineLength
	default:
		return replyBadEnd, reasonSmuggling
	}
}

// dataBDAT reads a message sent in BDAT chunks (go-smtp always offers
// CHUNKING). The chunks are counted, not terminated, so nothing can end the
// message early; the bytes are still held to the same rules, since they are
// sent on with DATA (submit checks them once the message is in memory).
func (s *session) dataBDAT(tx *txn, r *smtp.BDATReader) error {
	srv := s.c.s
	buf := newDataBuf(tx.sizeHint, srv.cfg.MaxMessageBytes, srv.cfg.SpoolDir)
	defer buf.discard()
	var err error
	for err == nil {
		err = buf.read(r)
	}
	size := buf.size()
	switch {
	case err == io.EOF:
	case errors.Is(err, errSpool):
		return s.spoolFailed(tx, size, err)
	case errors.Is(err, errTooLarge):
		rep := withID(replySizeExceeded, tx.id)
		srv.m.refuse(reasonSize)
		s.logTx(tx, size, "refused", rep, err)
		return rep
	default: // RSET, QUIT or a lost connection between chunks
		rep := withID(replyDataAborted, tx.id)
		s.logTx(tx, size, "aborted", rep, err)
		return rep
	}
	return s.submit(tx, buf)
}

// spoolFailed answers a message that could not be spooled (a full disk):
// a temporary failure, as for a store that is full.
func (s *session) spoolFailed(tx *txn, size int64, err error) error {
	rep := withID(replyTempFailure, tx.id)
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		rep = withID(replyStorageFull, tx.id)
	}
	s.c.s.m.messages.WithLabelValues(resultTempfail).Inc()
	s.logTx(tx, size, resultTempfail, rep, err)
	return rep
}

// submit checks what the front end checks of the message itself (the hop
// count, the header From of an authenticated sender), prepends the guard's
// Received: field, hands the message to the backend and turns the outcome
// into the reply.
func (s *session) submit(tx *txn, buf *dataBuf) error {
	c, srv := s.c, s.c.s
	end := time.Now()
	// From here the message is in memory: the budget bounds how much of
	// that all sessions together hold. A message received in memory
	// (spoolAbove at most) is there already and does not wait.
	if buf.spool != nil {
		ctx, cancel := context.WithTimeout(srv.ctx, srv.cfg.CommandTimeout)
		release, err := srv.cfg.Budget.Acquire(ctx, buf.size())
		cancel()
		if err != nil {
			rep := withID(replyTempFailure, tx.id)
			srv.m.messages.WithLabelValues(resultTempfail).Inc()
			s.logTx(tx, buf.size(), resultTempfail, rep, fmt.Errorf("smtpfront: waiting for memory: %w", err))
			return rep
		}
		defer release()
		if err := buf.load(); err != nil {
			return s.spoolFailed(tx, buf.size(), err)
		}
	}
	if tx.chunked {
		// BDAT has no dot-stuffing and no terminator to confuse, but
		// its bytes go upstream with DATA, so they obey the same rules.
		if verr := checkLines(buf.b, srv.cfg.MaxLineLength); verr != nil {
			rep, reason := violationReply(verr)
			rep = withID(rep, tx.id)
			srv.m.refuse(reason)
			s.logTx(tx, int64(len(buf.b)), "refused", rep, verr)
			return rep
		}
	}
	env := &envelope.Envelope{
		ID:         tx.id,
		Received:   srv.now(),
		ClientAddr: ipString(c.ip),
		Helo:       tx.helo,
		AuthUser:   tx.authUser,
		From:       tx.from,
		Params:     tx.params,
		Rcpts:      tx.rcpts,
	}
	hf := scanHeader(buf.b)
	if hf.received >= srv.cfg.MaxHops {
		// Postfix's hopcount_limit: the message is going round in circles.
		return s.refuseMessage(tx, env, int64(len(buf.b)), replyTooManyHops, reasonLoop,
			zap.Int("received_fields", hf.received))
	}
	if tx.authUser != "" && srv.cfg.EnforceHeaderFrom {
		if problem, addrs := headerFromProblem(hf, tx.addrs); problem != "" {
			return s.refuseMessage(tx, env, int64(len(buf.b)), replyHeaderFrom, reasonHeaderFrom,
				zap.String("problem", problem), zap.Strings("header_from", addrs))
		}
	}
	rcpts := make([]string, len(tx.rcpts))
	for i, r := range tx.rcpts {
		rcpts[i] = r.Addr
	}
	data := buf.withHeader(traceHeader(traceInfo{
		helo: tx.helo, ip: c.ip, host: srv.cfg.Hostname,
		ehlo: tx.ehlo, tls: s.tls, auth: tx.authUser != "", smtputf8: tx.params.SMTPUTF8,
		id: tx.id, rcpts: rcpts, at: env.Received,
	}))
	ctx, cancel := context.WithTimeout(srv.ctx, srv.cfg.CommandTimeout)
	res, err := srv.b.Submit(ctx, env, data)
	cancel()
	rep, result := submitReply(tx.id, res, err)
	if err == nil && result == resultTempfail {
		err = errUnknownAction(res.Action)
	}
	srv.m.accept.Observe(time.Since(end).Seconds())
	srv.m.messages.WithLabelValues(result).Inc()
	s.logTx(tx, int64(len(buf.b)), result, rep, err)
	return rep
}

// refuseMessage refuses a complete message the front end will not pass
// on, and has the backend record the refusal.
func (s *session) refuseMessage(tx *txn, env *envelope.Envelope, size int64, rep *smtp.SMTPError, reason string, fields ...zap.Field) error {
	srv := s.c.s
	rep = withID(rep, tx.id)
	srv.m.refuse(reason)
	srv.m.messages.WithLabelValues(resultRejected).Inc()
	srv.log.Warn("message refused", append([]zap.Field{zap.String("msg_id", tx.id), zap.String("reason", reason),
		zap.String("auth_user", tx.authUser), zap.String("client_ip", ipString(s.c.ip))}, fields...)...)
	ctx, cancel := context.WithTimeout(srv.ctx, srv.cfg.CommandTimeout)
	srv.b.Refused(ctx, env, reason)
	cancel()
	s.logTx(tx, size, resultRejected, rep, nil)
	return rep
}

// logTx writes the one log line of a transaction.
func (s *session) logTx(tx *txn, size int64, outcome string, rep *smtp.SMTPError, err error) {
	srv := s.c.s
	fields := []zap.Field{
		zap.String("msg_id", tx.id),
		zap.String("client_ip", ipString(s.c.ip)),
		zap.String("auth_user", tx.authUser),
		zap.String("from", tx.from),
		zap.Int("rcpts", len(tx.rcpts)),
		zap.Int64("size", size),
		zap.String("outcome", outcome),
		zap.Duration("duration", srv.now().Sub(tx.start)),
	}
	if rep != nil {
		fields = append(fields, zap.Int("code", rep.Code))
	}
	level := zap.InfoLevel
	if err != nil {
		fields = append(fields, zap.Error(err))
		if outcome == resultTempfail {
			level = zap.ErrorLevel
		}
	}
	srv.log.Log(level, "smtp transaction", fields...)
}
