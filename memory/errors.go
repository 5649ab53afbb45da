package memory

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Each is returned (often wrapped in a richer typed error
// that errors.Is matches) when the condition in its comment holds.
var (
	// ErrBadID is returned when a document ID is empty, longer than
	// MaxIDLen bytes, not valid UTF-8 or holds control characters.
	ErrBadID = errors.New("memory: invalid document id")
	// ErrEmptyText is returned when a document, a query or a text to embed
	// is empty or only white space.
	ErrEmptyText = errors.New("memory: empty text")
	// ErrReservedKey is returned when a document's metadata uses a key the
	// catalog sets itself (kind, source, document, chunk).
	ErrReservedKey = errors.New("memory: reserved metadata key")
	// ErrBadLimit is returned when a search asks for fewer than one result.
	ErrBadLimit = errors.New("memory: result count must be at least 1")
	// ErrNoEmbedder is returned by Open when Options.Embedder is half set:
	// a name without a function, or a function without a name.
	ErrNoEmbedder = errors.New("memory: embedder needs both a name and an embedding function")
	// ErrEmbed is returned when the embedder fails or answers with something
	// that is not a usable vector. The error is an *EmbedError.
	ErrEmbed = errors.New("memory: embedding failed")
	// ErrDimension is returned when a vector's length differs from the
	// catalog's dimension. The error is a *DimensionError.
	ErrDimension = errors.New("memory: vector dimension mismatch")
	// ErrEmbedderMismatch is returned by Open when the image's vectors were
	// made by another embedder and Options.OnEmbedderChange is ReembedFail.
	// The error is an *EmbedderMismatchError.
	ErrEmbedderMismatch = errors.New("memory: image was embedded with another embedder")
	// ErrWrongImage is returned when a transaction of another image is
	// passed to a Catalog.
	ErrWrongImage = errors.New("memory: transaction belongs to another image")
	// ErrBadCodex is returned when a codex line is not a valid entry. The
	// error is a *CodexError listing every bad line.
	ErrBadCodex = errors.New("memory: invalid codex")
	// ErrCorrupt is returned when a memory record in the image cannot be
	// decoded. The error is a *CorruptError.
	ErrCorrupt = errors.New("memory: damaged record")
)

// EmbedError reports a failed embedding: the embedder's own error, or an
// answer that is not a usable vector (wrong count, empty, zero, NaN).
type EmbedError struct {
	Embedder string // the embedder's name
	Reason   string // what was wrong, when the embedder itself did not fail
	Err      error  // the embedder's error, if any
}

func (e *EmbedError) Error() string {
	msg := "memory: embedding with " + e.Embedder + " failed"
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the embedder's error.
func (e *EmbedError) Unwrap() error { return e.Err }

// Is reports whether target is ErrEmbed.
func (e *EmbedError) Is(target error) bool { return target == ErrEmbed }

// DimensionError reports a vector whose length is not the catalog's.
type DimensionError struct {
	Embedder string
	Want     int
	Got      int
}

func (e *DimensionError) Error() string {
	return fmt.Sprintf("memory: embedder %s gave a vector of %d dimensions, the catalog holds %d",
		e.Embedder, e.Got, e.Want)
}

// Is reports whether target is ErrDimension.
func (e *DimensionError) Is(target error) bool { return target == ErrDimension }

// EmbedderMismatchError reports an image whose vectors were made by another
// embedder than the one the catalog was opened with.
type EmbedderMismatchError struct {
	Stored        string // the embedder recorded in the image
	StoredDims    int    // its dimension (0 if never learnt)
	Requested     string // the embedder given to Open
	RequestedDims int    // its dimension (0 if not known before the first vector)
}

func (e *EmbedderMismatchError) Error() string {
	return fmt.Sprintf("memory: image was embedded with %s (%d dimensions), not %s (%d dimensions); "+
		"open with the same embedder, or with OnEmbedderChange: Reembed to embed everything again",
		e.Stored, e.StoredDims, e.Requested, e.RequestedDims)
}

// Is reports whether target is ErrEmbedderMismatch.
func (e *EmbedderMismatchError) Is(target error) bool { return target == ErrEmbedderMismatch }

// LineError is one bad line of a codex.
type LineError struct {
	Line   int // 1-based
	Reason string
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// CodexError reports the bad lines of a codex that was refused as a whole.
// Nothing of it was added.
type CodexError struct {
	Source string
	Lines  []LineError
}

func (e *CodexError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "memory: invalid codex %q: %d bad line", e.Source, len(e.Lines))
	if len(e.Lines) != 1 {
		b.WriteString("s")
	}
	for i, l := range e.Lines {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Lines)-5)
			break
		}
		b.WriteString("; ")
		b.WriteString(l.Error())
	}
	return b.String()
}

// Is reports whether target is ErrBadCodex.
func (e *CodexError) Is(target error) bool { return target == ErrBadCodex }

// CorruptError reports a memory record that could not be decoded.
type CorruptError struct {
	Namespace string
	Key       string
	Reason    string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("memory: damaged record %s/%q: %s", e.Namespace, e.Key, e.Reason)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }
