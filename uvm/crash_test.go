package uvm_test

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/uvmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The crash test: a child process (this test binary, re-executed) runs
// transfers between accounts with durable commits and prints every
// acknowledged commit; the parent kills it with SIGKILL at a random moment,
// reopens the image and checks that nothing acknowledged was lost, that
// nothing half-done is visible, and that the total balance is unchanged.

var crashRounds = flag.Int("crash.rounds", 20, "rounds of the SIGKILL crash test (TestCrashDurability)")

const (
	crashEnvDir     = "BATOS_UVM_CRASH_DIR" // set in the child: the image directory
	crashAccounts   = 8
	crashInitial    = 1000
	crashWorkers    = 3      // concurrent transfer loops in the child
	crashRecordNS   = "xfer" // one record per transfer, keyed by its sequence number
	crashRootBank   = "bank" // root: holds "accounts" (list of Ref) and "ledger" (Ref)
	crashSeqSlot    = "seq"  // ledger slot: the last committed transfer number
	crashBalance    = "balance"
	crashChildLimit = 20 * time.Second // the child stops by itself after this
)

func crashSeqKey(seq int64) string { return fmt.Sprintf("%012d", seq) }

// crashMethods is how many method slots the ledger cycles through.
const crashMethods = 40

// crashMethod is the method a transfer installs on the ledger.
func crashMethod(seq int64) uvm.Method {
	return uvm.Method{Selector: fmt.Sprintf("t%d", seq%crashMethods), Source: fmt.Sprintf("// seq %d", seq)}
}

// crashTransfer is one transfer as the child acknowledges it and as its
// record stores it.
type crashTransfer struct {
	seq      int64
	from, to int
	amount   int64
}

func (x crashTransfer) record() string { return fmt.Sprintf("%d %d %d", x.from, x.to, x.amount) }

func parseCrashRecord(s string) (from, to int, amount int64, err error) {
	if _, err := fmt.Sscanf(s, "%d %d %d", &from, &to, &amount); err != nil {
		return 0, 0, 0, fmt.Errorf("record %q: %w", s, err)
	}
	if from < 0 || from >= crashAccounts || to < 0 || to >= crashAccounts {
		return 0, 0, 0, fmt.Errorf("record %q: account out of range", s)
	}
	return from, to, amount, nil
}

// TestCrashChild is the child half of TestCrashDurability; it skips itself
// unless the parent started it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnvDir)
	if dir == "" {
		t.Skip("runs only as the child of TestCrashDurability")
	}
	ctx := context.Background()
	im, err := uvm.Open(dir, uvm.Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "child: open: %v\n", err)
		os.Exit(3)
	}
	var accounts []uvm.OID
	var ledger uvm.OID
	err = im.View(ctx, func(tx *uvm.Tx) error {
		bank, err := tx.Root(crashRootBank)
		if err != nil {
			return err
		}
		l, _ := bank.Get("ledger")
		ledger = l.(uvm.Ref).OID
		as, _ := bank.Get("accounts")
		for _, a := range as.([]any) {
			accounts = append(accounts, a.(uvm.Ref).OID)
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "child: read bank: %v\n", err)
		os.Exit(3)
	}
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		// os.Stdout is unbuffered: one line, one write(2), in the pipe before
		// the next transfer starts.
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
	}
	// A session object per run, so the parent can check that OIDs are never
	// reused across crashes.
	var session uvm.OID
	err = im.Update(ctx, func(tx *uvm.Tx) error {
		o, err := tx.New()
		if err != nil {
			return err
		}
		session = o.OID()
		return o.Set("started", time.Now().UnixNano())
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "child: session: %v\n", err)
		os.Exit(3)
	}
	say("session %d", session)
	say("ready")

	deadline := time.Now().Add(crashChildLimit)
	var wg sync.WaitGroup
	for range crashWorkers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				from := rand.IntN(crashAccounts)
				to := (from + 1 + rand.IntN(crashAccounts-1)) % crashAccounts
				x := crashTransfer{from: from, to: to, amount: 1 + rand.Int64N(100)}
				err := im.Update(ctx, func(tx *uvm.Tx) error {
					l, err := tx.Object(ledger)
					if err != nil {
						return err
					}
					s, _ := l.Get(crashSeqSlot)
					x.seq = s.(int64) + 1
					a, err := tx.Object(accounts[from])
					if err != nil {
						return err
					}
					b, err := tx.Object(accounts[to])
					if err != nil {
						return err
					}
					ab, _ := a.Get(crashBalance)
					bb, _ := b.Get(crashBalance)
					if err := a.Set(crashBalance, ab.(int64)-x.amount); err != nil {
						return err
					}
					if err := b.Set(crashBalance, bb.(int64)+x.amount); err != nil {
						return err
					}
					if err := l.Set(crashSeqSlot, x.seq); err != nil {
						return err
					}
					// A method install too, so that the ledger's method
					// buckets are written in the same commits.
					if _, err := tx.InstallMethod(l, crashMethod(x.seq)); err != nil {
						return err
					}
					return tx.PutRecord(crashRecordNS, crashSeqKey(x.seq), []byte(x.record()))
				})
				if errors.Is(err, uvm.ErrConflict) {
					continue // not acknowledged; try another transfer
				}
				if err != nil {
					fmt.Fprintf(os.Stderr, "child: transfer: %v\n", err)
					os.Exit(3)
				}
				say("ack %d %s", x.seq, x.record())
			}
		})
	}
	wg.Wait()
	if err := im.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "child: close: %v\n", err)
		os.Exit(3)
	}
}

// TestCrashDurability kills a child that commits transfers with SIGKILL at
// random moments and checks the image after each kill.
func TestCrashDurability(t *testing.T) {
	if os.Getenv(crashEnvDir) != "" {
		t.Skip("in the child")
	}
	rounds := *crashRounds
	require.GreaterOrEqual(t, rounds, 1, "-crash.rounds=%d, want at least 1", rounds)
	// Not t.TempDir: a failing round leaves its image for inspection.
	dir, err := os.MkdirTemp("", "batos-uvm-crash-")
	require.NoError(t, err)
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
		}
	})
	crashSetup(t, dir)

	st := &crashState{acked: map[int64]string{}, balances: slices.Repeat([]int64{crashInitial}, crashAccounts)}
	start := time.Now()
	var killedDuringOpen, totalAcks int
	var slowestReady time.Duration
	for round := range rounds {
		// Three rounds in four are killed 50–400 ms after the child is
		// ready, while transfers run; the fourth is killed 1–60 ms after
		// the process starts, so it may hit Open and its recovery.
		fromStart := round%4 == 3
		delay := time.Duration(50+rand.IntN(351)) * time.Millisecond
		if fromStart {
			// Before or during Open: from start to "ready" the child
			// takes about 8–20 ms here.
			delay = time.Duration(1+rand.IntN(20)) * time.Millisecond
		}
		n, early, readyAfter := crashRound(t, dir, round, delay, fromStart, st)
		slowestReady = max(slowestReady, readyAfter)
		if readyAfter > time.Second {
			t.Logf("round %d: slow start, the child took %v to be ready", round, readyAfter)
		}
		totalAcks += n
		if early {
			killedDuringOpen++
		}
		crashVerify(t, dir, round, round%10 == 9 || round == rounds-1, st)
		require.False(t, t.Failed(), "round %d failed (kill after %v, counted from %s); image kept in %s",
			round, delay, map[bool]string{true: "process start", false: "ready"}[fromStart], dir)
	}
	t.Logf("%d rounds in %v: %d acknowledged transfers, %d kills before the child was ready, final seq %d, slowest start to ready %v",
		rounds, time.Since(start).Round(time.Millisecond), totalAcks, killedDuringOpen, st.seq, slowestReady.Round(time.Millisecond))
	assert.NotZero(t, totalAcks, "got 0 acknowledged transfers in %d rounds, want some: the test exercised nothing", rounds)
}

// crashState is what the parent knows across rounds.
type crashState struct {
	acked    map[int64]string // seq → record text, every acknowledged transfer so far
	seq      int64            // the ledger's seq after the last verified round
	balances []int64          // the accounts' balances at seq, replayed from the records
	sessions []uvm.OID        // acknowledged session objects, in round order

	lastRoundAcks map[int64]bool // the seqs acknowledged in the round just run
}

func crashSetup(t *testing.T, dir string) {
	t.Helper()
	im := uvmtest.Disk(t, dir, uvm.Options{})
	err := im.Update(context.Background(), func(tx *uvm.Tx) error {
		bank, err := tx.New()
		if err != nil {
			return err
		}
		ledger, err := tx.New()
		if err != nil {
			return err
		}
		if err := ledger.Set(crashSeqSlot, int64(0)); err != nil {
			return err
		}
		var refs []any
		for range crashAccounts {
			a, err := tx.New()
			if err != nil {
				return err
			}
			if err := a.Set(crashBalance, int64(crashInitial)); err != nil {
				return err
			}
			refs = append(refs, a.Ref())
		}
		if err := bank.Set("accounts", refs); err != nil {
			return err
		}
		if err := bank.Set("ledger", ledger.Ref()); err != nil {
			return err
		}
		return tx.SetRoot(crashRootBank, bank)
	})
	require.NoError(t, err, "setup")
	require.NoError(t, im.Close(), "close")
}

// crashRound runs one child and kills it. It returns the number of
// transfers acknowledged, whether the kill came before "ready", and how long
// the child took to become ready.
func crashRound(t *testing.T, dir string, round int, delay time.Duration, fromStart bool, st *crashState) (acks int, early bool, readyAfter time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvDir+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err, "round %d: stdout pipe", round)
	require.NoError(t, cmd.Start(), "round %d: start child", round)
	started := time.Now()
	ready := make(chan struct{})
	lines := make(chan []string, 1)
	go func() {
		var got []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l := sc.Text()
			if l == "ready" {
				readyAfter = time.Since(started)
				close(ready)
			}
			got = append(got, l)
		}
		lines <- got
	}()

	timer := time.NewTimer(delay)
	if fromStart {
		select {
		case <-timer.C:
		case <-ready:
			<-timer.C
		}
	} else {
		select {
		case <-ready:
			timer.Reset(delay)
			// While the child holds the image, a second Open must fail.
			if round%5 == 0 {
				im, err := uvm.Open(dir, uvm.Options{})
				if !assert.ErrorIs(t, err, uvm.ErrLocked, "round %d: second Open while the child runs", round) && err == nil {
					_ = im.Close()
				}
			}
			<-timer.C
		case <-time.After(30 * time.Second):
			assert.Fail(t, "child not ready", "round %d: child not ready after 30s", round)
		}
	}
	select {
	case <-ready:
	default:
		early = true
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	got := <-lines
	werr := cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, werr, &ee, "round %d: child ended with %v before the kill, want SIGKILL; stderr:\n%s", round, werr, stderr.String())
	require.Equal(t, syscall.SIGKILL, ee.Sys().(syscall.WaitStatus).Signal(),
		"round %d: child ended with %v before the kill, want SIGKILL; stderr:\n%s", round, werr, stderr.String())

	roundAcks := map[int64]bool{}
	for _, l := range got {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && f[0] == "session":
			oid, err := strconv.ParseUint(f[1], 10, 64)
			require.NoError(t, err, "round %d: bad line %q", round, l)
			st.sessions = append(st.sessions, uvm.OID(oid))
		case len(f) == 5 && f[0] == "ack":
			seq, err := strconv.ParseInt(f[1], 10, 64)
			require.NoError(t, err, "round %d: bad line %q", round, l)
			rec := strings.Join(f[2:], " ")
			prev, dup := st.acked[seq]
			assert.False(t, dup, "round %d: seq %d acknowledged twice (%q, then %q): an acknowledged commit was lost and its number reused", round, seq, prev, rec)
			assert.Greater(t, seq, st.seq, "round %d: seq %d acknowledged, but the image already held seq %d before this round: a committed transfer was overwritten", round, seq, st.seq)
			st.acked[seq] = rec
			roundAcks[seq] = true
		}
	}
	st.lastRoundAcks = roundAcks
	return len(roundAcks), early, readyAfter
}

// crashVerify reopens the image and checks it against everything the
// children acknowledged. Each round checks the transfers committed since the
// last round in full and a sample of older ones; a full round (every tenth,
// and the last) rereads every record and replays them all.
func crashVerify(t *testing.T, dir string, round int, full bool, st *crashState) {
	t.Helper()
	ctx := context.Background()
	im, err := uvm.Open(dir, uvm.Options{})
	if !assert.NoError(t, err, "round %d: reopen after SIGKILL", round) {
		return
	}
	defer func() { assert.NoError(t, im.Close(), "round %d: close", round) }()
	err = im.View(ctx, func(tx *uvm.Tx) error {
		bank, err := tx.Root(crashRootBank)
		if err != nil {
			return fmt.Errorf("root: %w", err)
		}
		lv, _ := bank.Get("ledger")
		ledger, err := tx.Object(lv.(uvm.Ref).OID)
		if err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		sv, _ := ledger.Get(crashSeqSlot)
		seq, ok := sv.(int64)
		if !ok {
			return fmt.Errorf("ledger seq is %T, want int64", sv)
		}
		if !assert.GreaterOrEqual(t, seq, st.seq, "round %d: ledger seq went back from %d to %d", round, st.seq, seq) {
			return nil
		}
		// The methods installed by the last transfers are in the ledger's
		// buckets, as committed with them.
		for s := max(1, seq-crashMethods+1); s <= seq; s++ {
			want := crashMethod(s)
			f, err := tx.Lookup(ledger, want.Selector)
			if !assert.NoError(t, err, "round %d: ledger method %s (transfer %d)", round, want.Selector, s) {
				continue
			}
			m, _ := f.Value.(uvm.Method)
			assert.Equal(t, want.Source, m.Source, "round %d: ledger method %s: source", round, want.Selector)
		}

		// Every acknowledged transfer is present, with its content: this
		// round's all, older ones all in a full round, else a sample.
		checkAck := func(s int64, rec string) {
			if !assert.LessOrEqual(t, s, seq, "round %d: acknowledged transfer %d missing: the ledger's seq is %d", round, s, seq) {
				return
			}
			got, err := tx.GetRecord(crashRecordNS, crashSeqKey(s))
			if !assert.NoError(t, err, "round %d: acknowledged transfer %d: record", round, s) {
				return
			}
			assert.Equal(t, rec, string(got), "round %d: transfer %d: record", round, s)
		}
		sample := 100
		for s, rec := range st.acked { // map order is random: a random sample
			switch {
			case st.lastRoundAcks[s] || full:
				checkAck(s, rec)
			case sample > 0:
				sample--
				checkAck(s, rec)
			}
		}
		// At most one committed-but-unacknowledged transfer per worker.
		unacked := 0
		for s := st.seq + 1; s <= seq; s++ {
			if !st.lastRoundAcks[s] {
				unacked++
			}
		}
		assert.LessOrEqual(t, unacked, crashWorkers, "round %d: %d transfers committed but never acknowledged (seq %d → %d), want at most %d (one per worker)",
			round, unacked, st.seq, seq, crashWorkers)

		// Replaying the records from the initial balances gives the
		// balances in the accounts. The records are exactly 1..seq.
		apply := func(bal []int64, val []byte) error {
			from, to, amount, err := parseCrashRecord(string(val))
			if err != nil {
				return err
			}
			bal[from] -= amount
			bal[to] += amount
			return nil
		}
		want := slices.Clone(st.balances)
		for s := st.seq + 1; s <= seq; s++ {
			val, err := tx.GetRecord(crashRecordNS, crashSeqKey(s))
			if err != nil {
				return fmt.Errorf("transfer %d (of %d committed): %w", s, seq, err)
			}
			if err := apply(want, val); err != nil {
				return err
			}
		}
		for s := seq + 1; s <= seq+crashWorkers+1; s++ {
			_, err := tx.GetRecord(crashRecordNS, crashSeqKey(s))
			assert.ErrorIs(t, err, uvm.ErrNotFound, "round %d: record of transfer %d, beyond the ledger's seq %d (a transfer committed in part)", round, s, seq)
		}
		if full {
			replay := slices.Repeat([]int64{crashInitial}, crashAccounts)
			var n int64
			err = tx.ScanRecords(crashRecordNS, "", func(key string, val []byte) error {
				n++
				if key != crashSeqKey(n) {
					return fmt.Errorf("record #%d has key %q, want %q (records must be exactly 1..%d)", n, key, crashSeqKey(n), seq)
				}
				return apply(replay, val)
			})
			if err != nil {
				return fmt.Errorf("scan records: %w", err)
			}
			assert.Equal(t, seq, n, "round %d: transfer records, want the ledger's seq", round)
			assert.Equal(t, want, replay, "round %d: balances of the full replay, want those of the incremental one", round)
		}
		av, _ := bank.Get("accounts")
		var total int64
		for i, r := range av.([]any) {
			a, err := tx.Object(r.(uvm.Ref).OID)
			if err != nil {
				return fmt.Errorf("account %d: %w", i, err)
			}
			bv, _ := a.Get(crashBalance)
			b, ok := bv.(int64)
			if !ok {
				return fmt.Errorf("account %d: balance is %T, want int64", i, bv)
			}
			total += b
			assert.Equal(t, want[i], b, "round %d: account %d: balance, want the one replayed from the records", round, i)
		}
		assert.Equal(t, int64(crashAccounts*crashInitial), total, "round %d: total balance", round)

		// Session objects decode, and OIDs were never reused.
		for i, s := range st.sessions {
			if i > 0 {
				assert.Greater(t, s, st.sessions[i-1], "round %d: session OID %d after %d: OIDs reused after a crash", round, s, st.sessions[i-1])
			}
			_, err := tx.Object(s)
			assert.NoError(t, err, "round %d: acknowledged session object %d", round, s)
		}
		st.seq, st.balances = seq, want
		return nil
	})
	assert.NoError(t, err, "round %d: verify", round)
}

// TestCrashLeftovers reopens images holding what a SIGKILL during Open can
// leave behind: Badger creates the next value log or memtable file and then
// sizes it, and a kill between the two leaves a file of 0 bytes. Such a file
// holds nothing, so Open must succeed and the image be intact. (Badger
// v4.9.6 refuses such a directory once with "Create a new file", its
// z.NewFile sentinel: dgraph-io/badger#2207.)
func TestCrashLeftovers(t *testing.T) {
	if os.Getenv(crashEnvDir) != "" {
		t.Skip("in the child")
	}
	tests := []struct {
		name string
		ext  string // ".vlog" or ".mem"
	}{
		{"empty value log", ".vlog"},
		{"empty memtable", ".mem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			im := uvmtest.Disk(t, dir, uvm.Options{})
			var oid uvm.OID
			uvmtest.Update(t, im, func(tx *uvm.Tx) error {
				o, err := tx.New()
				if err != nil {
					return err
				}
				oid = o.OID()
				return o.Set("kept", "yes")
			})
			require.NoError(t, im.Close())
			name := crashNextLogFile(t, dir, tc.ext)
			require.NoError(t, os.WriteFile(name, nil, 0o644))

			im, err := uvm.Open(dir, uvm.Options{})
			require.NoError(t, err, "open with an empty %s left by a crash", filepath.Base(name))
			t.Cleanup(func() { _ = im.Close() })
			uvmtest.View(t, im, func(tx *uvm.Tx) error {
				o, err := tx.Object(oid)
				if err != nil {
					return err
				}
				v, _ := o.Get("kept")
				assert.Equal(t, "yes", v, "slot kept")
				return nil
			})
		})
	}
}

// crashNextLogFile names the file Badger would create next with ext
// (".vlog": six-digit file ids, ".mem": five-digit).
func crashNextLogFile(t *testing.T, dir, ext string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	next := 1
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), ext); ok {
			if n, err := strconv.Atoi(id); err == nil && n >= next {
				next = n + 1
			}
		}
	}
	if ext == ".vlog" {
		return filepath.Join(dir, fmt.Sprintf("%06d.vlog", next))
	}
	return filepath.Join(dir, fmt.Sprintf("%05d.mem", next))
}
