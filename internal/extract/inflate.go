package extract

import (
	"archive/zip"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// Deflated ZIP entries (every part of an Office file) are inflated with
// github.com/klauspost/compress/flate, a drop-in for compress/flate that
// decodes about twice as fast; a 100 KB spreadsheet inflates to a
// megabyte or more of XML. Decoders are pooled as archive/zip pools its
// own.

var inflaters sync.Pool

// inflate is the zip.Decompressor for zip.Deflate.
func inflate(r io.Reader) io.ReadCloser {
	if fr, ok := inflaters.Get().(io.ReadCloser); ok {
		if err := fr.(flate.Resetter).Reset(r, nil); err == nil {
			return &inflater{fr: fr}
		}
	}
	return &inflater{fr: flate.NewReader(r)}
}

// inflater returns its decoder to the pool when closed.
type inflater struct {
	fr io.ReadCloser
}

func (f *inflater) Read(p []byte) (int, error) {
	if f.fr == nil {
		return 0, io.ErrClosedPipe
	}
	return f.fr.Read(p)
}

func (f *inflater) Close() error {
	if f.fr == nil {
		return nil
	}
	err := f.fr.Close()
	inflaters.Put(f.fr)
	f.fr = nil
	return err
}

// newZipReader opens a ZIP file with the faster inflater.
func newZipReader(r io.ReaderAt, size int64) (*zip.Reader, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, err
	}
	zr.RegisterDecompressor(zip.Deflate, inflate)
	return zr, nil
}
