package psm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/batos-dev/batos/uvm"
)

// notesNS is the uvm record namespace holding what a method version's
// uvm.Method does not: the model that wrote it, who approved it, the
// arguments it was validated with, the version it restores. A note is
// written in the transaction that installs its version, so it is part of
// the image like the version itself (Mind.Fingerprint keeps it).
const notesNS = "psm.versions"

// approvalNS is the uvm record namespace indexing the cycles awaiting
// approval by receiver and selector. It belongs to the audit trail, like
// the records (Mind.Fingerprint leaves it out).
const approvalNS = "psm.approvals"

// versionNote is what psm keeps about a method version besides the
// uvm.Method.
type versionNote struct {
	By         string `json:"by,omitempty"` // who installed it, for a person's install
	Why        string `json:"why,omitempty"`
	Model      string `json:"model,omitempty"`
	ApprovedBy string `json:"approved_by,omitempty"`
	Restores   int    `json:"restores,omitempty"`
	Args       Args   `json:"args,omitempty"`
}

func noteKey(oid uvm.OID, selector string, version int) string {
	return fmt.Sprintf("%016x/%s/%08d", uint64(oid), selector, version)
}

func putNote(tx *uvm.Tx, oid uvm.OID, m uvm.Method, n versionNote) error {
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("psm: note of %q v%d on object %d: %w", m.Selector, m.Version, oid, err)
	}
	return tx.PutRecord(notesNS, noteKey(oid, m.Selector, m.Version), b)
}

func getNote(tx *uvm.Tx, oid uvm.OID, selector string, version int) (versionNote, error) {
	var n versionNote
	b, err := tx.GetRecord(notesNS, noteKey(oid, selector, version))
	if errors.Is(err, uvm.ErrNotFound) {
		return n, nil
	}
	if err != nil {
		return n, err
	}
	if err := json.Unmarshal(b, &n); err != nil {
		return n, fmt.Errorf("psm: note of %q v%d on object %d: %w", selector, version, oid, err)
	}
	return n, nil
}

// Version is one installed version of a method, as people read its
// history: the source, who wrote it and why.
type Version struct {
	Object   uvm.OID
	Selector string
	Version  int
	Source   string
	Current  bool   // the object's slot holds this version
	Author   string // the persona that wrote it, or the person who installed it (By)
	Model    string // the model that spoke for the persona; "" when a person wrote it
	CycleID  string // the cycle that wrote it; "" for a person's install
	Why      string // the intent it was written for, or the installer's reason
	// ApprovedBy names who approved it (generation policy GenerateApprove).
	ApprovedBy string
	// Restores is, for a revert, the version whose source it restores.
	Restores int
	// Args are the arguments its dry run was validated with.
	Args    []any
	Created time.Time
}

// History returns every installed version of selector on the object oid,
// oldest first. An object that never had a method of that name has an
// empty history.
func (m *Mind) History(ctx context.Context, oid uvm.OID, selector string) ([]Version, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.leave()
	var out []Version
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		ms, err := tx.MethodVersions(o, selector)
		if err != nil {
			return err
		}
		out = make([]Version, 0, len(ms))
		for _, meth := range ms {
			v, err := versionOf(tx, o, meth)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("psm: history of %q on object %d: %w", selector, oid, err)
	}
	return out, nil
}

// version reads one installed version as a Version.
func (m *Mind) version(ctx context.Context, oid uvm.OID, meth uvm.Method) (Version, error) {
	var v Version
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		o, err := tx.Object(oid)
		if err != nil {
			return err
		}
		v, err = versionOf(tx, o, meth)
		return err
	})
	return v, err
}

// versionOf joins a method version with its note, and, for versions
// installed before notes were kept, the record of the cycle that wrote it.
func versionOf(tx *uvm.Tx, o *uvm.Object, meth uvm.Method) (Version, error) {
	n, err := getNote(tx, o.OID(), meth.Selector, meth.Version)
	if err != nil {
		return Version{}, err
	}
	v := Version{
		Object: o.OID(), Selector: meth.Selector, Version: meth.Version, Source: meth.Source,
		Author: meth.Persona, Model: n.Model, CycleID: meth.CycleID, Why: meth.Intent,
		ApprovedBy: n.ApprovedBy, Restores: n.Restores, Args: n.Args, Created: meth.Created,
	}
	if cur, ok := ownMethod(o, meth.Selector); ok && cur.Version == meth.Version {
		v.Current = true
	}
	if n.By != "" {
		v.Author = n.By
	}
	if n.Why != "" {
		v.Why = n.Why
	}
	if v.CycleID != "" && (v.Model == "" || v.Args == nil) {
		if b, err := tx.GetRecord(recordNS, v.CycleID); err == nil {
			var rec Record
			if json.Unmarshal(b, &rec) == nil {
				if v.Model == "" && rec.Reused == nil {
					v.Model = rec.Model // a reused method had none
				}
				if v.Args == nil && n.By == "" {
					v.Args = rec.Mission.Args
				}
			}
		}
	}
	if v.Why == "" && v.CycleID != "" {
		v.Why = fmt.Sprintf("object %d did not understand %q", o.OID(), meth.Selector)
	}
	return v, nil
}

// methodVersion reads one version of selector on oid, or an error
// wrapping ErrNoSuchVersion.
func methodVersion(tx *uvm.Tx, oid uvm.OID, selector string, version int) (*uvm.Object, uvm.Method, error) {
	o, err := tx.Object(oid)
	if err != nil {
		return nil, uvm.Method{}, err
	}
	meth, err := tx.MethodVersion(o, selector, version)
	if errors.Is(err, uvm.ErrNotFound) {
		return nil, uvm.Method{}, fmt.Errorf("%w: %q v%d on object %d", ErrNoSuchVersion, selector, version, oid)
	}
	return o, meth, err
}

// Diff returns a unified diff (three lines of context) from version
// from to version to of selector on the object oid; "" when their
// sources are equal. A version that does not exist is an error wrapping
// ErrNoSuchVersion.
func (m *Mind) Diff(ctx context.Context, oid uvm.OID, selector string, from, to int) (string, error) {
	if err := m.enter(); err != nil {
		return "", err
	}
	defer m.leave()
	var a, b uvm.Method
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		var err error
		if _, a, err = methodVersion(tx, oid, selector, from); err != nil {
			return err
		}
		_, b, err = methodVersion(tx, oid, selector, to)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("psm: diff of %q on object %d: %w", selector, oid, err)
	}
	return unifiedDiff(
		fmt.Sprintf("%s v%d (object %d)", selector, from, oid),
		fmt.Sprintf("%s v%d (object %d)", selector, to, oid),
		a.Source, b.Source, 3), nil
}

// Revert installs the source of an earlier version of selector on the
// object oid as a new version, through the same validation as Install
// (its dry run uses the arguments that version was validated with,
// unless WithArgs says otherwise). The history keeps every version; the
// new one says which it restores, who reverted (By) and why (Because).
func (m *Mind) Revert(ctx context.Context, oid uvm.OID, selector string, version int, opts ...Option) (Version, error) {
	if err := m.enter(); err != nil {
		return Version{}, err
	}
	defer m.leave()
	var old Version
	err := m.im.View(ctx, func(tx *uvm.Tx) error {
		o, meth, err := methodVersion(tx, oid, selector, version)
		if err != nil {
			return err
		}
		old, err = versionOf(tx, o, meth)
		return err
	})
	if err != nil {
		return Version{}, fmt.Errorf("psm: revert %q on object %d: %w", selector, oid, err)
	}
	o := hostOpts(opts)
	if !o.hasArgs {
		o.args = old.Args
	}
	if o.why == "" {
		o.why = fmt.Sprintf("revert to v%d", version)
	}
	return m.installHost(ctx, oid, selector, old.Source, o, versionNote{By: o.by, Why: o.why, Restores: version})
}

// Fingerprint returns a SHA-256, in hex, of everything in the image but
// its audit trail (the cycle records, RecordNamespace, and the index of
// cycles awaiting approval): two images with equal fingerprints hold the
// same objects, roots, method versions and their notes, and memory. A
// failed cycle leaves it unchanged.
func (m *Mind) Fingerprint(ctx context.Context) (string, error) {
	if err := m.enter(); err != nil {
		return "", err
	}
	defer m.leave()
	return m.im.Fingerprint(ctx, RecordNamespace, approvalNS)
}
