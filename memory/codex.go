package memory

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/batos-dev/batos/uvm"
)

//go:embed codex/batos.jsonl
var defaultCodex []byte

// DefaultCodex returns a copy of the project's own persona codex: JSONL
// prompt–response pairs about batos itself — its architecture, the
// persistence covenant, the cognitive cycle, the guardian, live methods,
// the image, and the voices of ALFRED, BRICK, ROBIN and BABS. Pass it as
// Options.Codex to seed a new image's memory.
func DefaultCodex() []byte { return bytes.Clone(defaultCodex) }

// MaxCodexLine bounds one line of a codex, in bytes.
const MaxCodexLine = 1 << 20

// CodexEntry is one line of a codex.
type CodexEntry struct {
	Prompt   string `json:"prompt"`
	Response string `json:"response"`
	// Persona, optional, is the voice the entry speaks in (ALFRED, BRICK, …).
	Persona string `json:"persona,omitempty"`
	// Topic, optional, is a short tag for filtering.
	Topic string `json:"topic,omitempty"`

	line int
}

// IngestOptions steer IngestCodex. The zero value means: source "codex",
// kind "codex", and a bad line fails the whole ingestion.
type IngestOptions struct {
	// Source names the codex; its entries' IDs are Source/<hash of the entry>.
	// Zero means "codex".
	Source string
	// Kind of the entries' documents. Zero means "codex".
	Kind string
	// SkipBadLines skips a bad line (and lists it in the report, and logs
	// it) instead of failing the whole ingestion with a *CodexError.
	SkipBadLines bool
	// Replace removes the documents of Source that the codex no longer holds.
	Replace bool
}

// IngestReport says what an ingestion did.
type IngestReport struct {
	Source    string
	Entries   int         // valid entries read
	Added     int         // documents new or changed
	Unchanged int         // documents already stored as they are (or repeated in the codex)
	Removed   int         // documents of Source no longer in the codex (with Replace)
	Skipped   []LineError // bad lines, with SkipBadLines
}

// IngestCodex reads a JSONL codex — one {"prompt": …, "response": …} object
// per line, blank lines allowed — and adds every entry as a document inside
// tx. The codex is read and checked in full before anything is added: with
// SkipBadLines unset, one bad line fails the ingestion with a *CodexError
// naming every bad line, and nothing is added; with it set, bad lines are
// skipped, logged and listed in the report. A read error always fails.
//
// One transaction holds a bounded amount of data (see uvm's caveats): a
// codex of more than a few thousand entries is better ingested in parts.
func (c *Catalog) IngestCodex(ctx context.Context, tx *uvm.Tx, r io.Reader, opts IngestOptions) (IngestReport, error) {
	opts = opts.withDefaults()
	rep := IngestReport{Source: opts.Source}
	if err := c.checkTx(tx, true); err != nil {
		return rep, err
	}
	if err := checkID(opts.Source); err != nil {
		return rep, err
	}
	entries, err := c.parseCodex(r, opts, &rep)
	if err != nil {
		return rep, err
	}
	if err := c.ingestEntries(ctx, tx, entries, opts, &rep); err != nil {
		return rep, err
	}
	if opts.Replace {
		if err := c.removeStale(ctx, tx, entries, opts, &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (o IngestOptions) withDefaults() IngestOptions {
	if o.Source == "" {
		o.Source = "codex"
	}
	if o.Kind == "" {
		o.Kind = "codex"
	}
	return o
}

// ParseCodex reads and checks a JSONL codex without storing it. It returns
// the valid entries and the bad lines.
func ParseCodex(r io.Reader) ([]CodexEntry, []LineError, error) {
	return parseCodex(r)
}

func (c *Catalog) parseCodex(r io.Reader, opts IngestOptions, rep *IngestReport) ([]CodexEntry, error) {
	entries, bad, err := parseCodex(r)
	if err != nil {
		return nil, err
	}
	if len(bad) > 0 && !opts.SkipBadLines {
		return nil, &CodexError{Source: opts.Source, Lines: bad}
	}
	for _, b := range bad {
		c.log.Warn("memory: codex line skipped", "source", opts.Source, "line", b.Line, "reason", b.Reason)
	}
	rep.Skipped = bad
	rep.Entries = len(entries)
	return entries, nil
}

func parseCodex(r io.Reader) ([]CodexEntry, []LineError, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var entries []CodexEntry
	var bad []LineError
	for n := 1; ; n++ {
		line, tooLong, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("memory: read codex line %d: %w", n, err)
		}
		if tooLong {
			bad = append(bad, LineError{Line: n, Reason: fmt.Sprintf("longer than %d bytes", MaxCodexLine)})
		} else if !blank(string(line)) {
			e, reason := parseEntry(line)
			if reason != "" {
				bad = append(bad, LineError{Line: n, Reason: reason})
			} else {
				e.line = n
				entries = append(entries, e)
			}
		}
		if errors.Is(err, io.EOF) {
			return entries, bad, nil
		}
	}
}

// readLine reads one line without its end; tooLong reports a line over
// MaxCodexLine, whose rest is skipped.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		part, isPrefix, err := br.ReadLine()
		if !tooLong {
			line = append(line, part...)
			if len(line) > MaxCodexLine {
				tooLong, line = true, nil
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) && (len(line) > 0 || tooLong) {
				return line, tooLong, nil // last line without a newline; EOF comes next call
			}
			return line, tooLong, err
		}
		if !isPrefix {
			return line, tooLong, nil
		}
	}
}

func parseEntry(line []byte) (CodexEntry, string) {
	var e CodexEntry
	if !utf8.Valid(line) {
		return e, "not valid UTF-8"
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return e, "not a codex entry: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	if dec.More() {
		return e, "more than one JSON value on the line"
	}
	if blank(e.Prompt) {
		return e, `missing or empty "prompt"`
	}
	if blank(e.Response) {
		return e, `missing or empty "response"`
	}
	return e, ""
}

// entryDoc turns a codex entry into its document.
func entryDoc(e CodexEntry, opts IngestOptions) Document {
	h := textHash(e.Prompt + "\x00" + e.Response)
	var meta map[string]string
	if e.Persona != "" || e.Topic != "" {
		meta = map[string]string{}
		if e.Persona != "" {
			meta["persona"] = e.Persona
		}
		if e.Topic != "" {
			meta["topic"] = e.Topic
		}
	}
	return Document{
		ID:       opts.Source + "/" + h[:16],
		Text:     strings.TrimSpace(e.Prompt) + "\n" + strings.TrimSpace(e.Response),
		Kind:     opts.Kind,
		Source:   opts.Source,
		Metadata: meta,
	}
}

func (c *Catalog) ingestEntries(ctx context.Context, tx *uvm.Tx, entries []CodexEntry, opts IngestOptions, rep *IngestReport) error {
	for _, e := range entries {
		changed, err := c.add(ctx, tx, entryDoc(e, opts), false)
		if err != nil {
			return fmt.Errorf("memory: codex %q line %d: %w", opts.Source, e.line, err)
		}
		if changed {
			rep.Added++
		} else {
			rep.Unchanged++
		}
	}
	return nil
}

// removeStale deletes the documents of opts.Source that entries do not hold.
func (c *Catalog) removeStale(ctx context.Context, tx *uvm.Tx, entries []CodexEntry, opts IngestOptions, rep *IngestReport) error {
	keep := map[string]bool{}
	for _, e := range entries {
		keep[entryDoc(e, opts).ID] = true
	}
	var stale []string
	err := tx.ScanRecords(c.ns.doc, opts.Source+"/", func(key string, val []byte) error {
		var d docRecord
		if err := decodeJSON(c.ns.doc, key, val, &d); err != nil {
			return err
		}
		if !d.Deleted && d.Source == opts.Source && !keep[key] {
			stale = append(stale, key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range stale {
		if _, err := c.remove(ctx, tx, id); err != nil {
			return err
		}
		rep.Removed++
	}
	return nil
}

// seedBatch is how many codex entries one seeding transaction adds.
const seedBatch = 32

// needsSeed reports whether the image does not hold exactly this codex
// for source yet.
func (c *Catalog) needsSeed(ctx context.Context, codex []byte, source string) (bool, error) {
	sum := textHash(string(codex))
	var have bool
	err := c.im.View(ctx, func(tx *uvm.Tx) error {
		b, err := tx.GetRecord(c.ns.meta, seedKey(source))
		if isNotFound(err) {
			return nil
		}
		have = err == nil && string(b) == sum
		return err
	})
	return !have, err
}

// seed ingests a codex in transactions of its own (see needsSeed for
// when it is needed).
func (c *Catalog) seed(ctx context.Context, codex []byte, source string) (IngestReport, error) {
	opts := IngestOptions{Source: source}.withDefaults()
	rep := IngestReport{Source: source}
	sum := textHash(string(codex))
	entries, err := c.parseCodex(bytes.NewReader(codex), opts, &rep)
	if err != nil {
		return rep, err
	}
	for start := 0; start < len(entries); start += seedBatch {
		part := entries[start:min(start+seedBatch, len(entries))]
		var r IngestReport
		err := c.im.Update(ctx, func(tx *uvm.Tx) error {
			r = IngestReport{}
			return c.ingestEntries(ctx, tx, part, opts, &r)
		})
		if err != nil {
			return rep, err
		}
		rep.Added += r.Added
		rep.Unchanged += r.Unchanged
	}
	err = c.im.Update(ctx, func(tx *uvm.Tx) error {
		var r IngestReport
		if err := c.removeStale(ctx, tx, entries, opts, &r); err != nil {
			return err
		}
		rep.Removed = r.Removed
		return tx.PutRecord(c.ns.meta, seedKey(source), []byte(sum))
	})
	if err == nil {
		c.log.Info("memory: codex seeded", "source", source, "added", rep.Added,
			"unchanged", rep.Unchanged, "removed", rep.Removed)
	}
	return rep, err
}
