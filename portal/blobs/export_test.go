package blobs

import "io"

// SetWriteHook makes Put write through wrap(file) instead of file, to
// inject storage failures.
func SetWriteHook(l *Local, wrap func(io.Writer) io.Writer) { l.wrapWriter = wrap }
