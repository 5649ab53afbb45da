package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batos-dev/batos/psm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pendingImage awakens an image whose generation policy is approve and
// sends genesis add 2 40: the cycle's method waits for a decision. It
// returns the cycle's id and the image's fingerprint before the send.
func pendingImage(t *testing.T) (dir string, c *cli, id, before string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "img")
	c = newCLI(map[string]string{envImage: dir, envModel: "scripted:testdata/add.jsonl", "USER": "ada"})
	require.Equal(t, exitOK, c.run("send", "genesis", "name").code)
	r := c.run("policy", "traits", "approve")
	require.Equal(t, exitOK, r.code, r.stderr)
	before = fingerprint(t, dir)

	r = c.run("send", "--json", "genesis", "add", "2", "40")
	require.Equal(t, exitPending, r.code, "stderr:\n%s", r.stderr)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &body), r.stdout)
	assert.Equal(t, kindAwaitingApproval, body["kind"])
	assert.Equal(t, "add", body["selector"])
	id, _ = body["cycle"].(string)
	require.NotEmpty(t, id)
	assert.Contains(t, r.stderr, "AWAITING_APPROVAL", "the cycle's progress shows where it stopped")
	assert.Contains(t, r.stderr, "batos approve "+id)
	assert.Equal(t, before, fingerprint(t, dir), "nothing is installed until approved")
	return dir, c, id, before
}

// A send under the approve policy exits 3 with the cycle id and the
// commands that decide it; pending lists and shows the method; approve
// installs it.
func TestApprove(t *testing.T) {
	dir, c, id, before := pendingImage(t)
	r := c.run("send", "genesis", "add", "2", "40")
	assert.Equal(t, exitPending, r.code)
	assert.Equal(t, "", r.stdout, "no answer yet")
	assert.Contains(t, r.stderr, "cycle "+id+` wrote "add" for object 3; it awaits approval`)
	assert.Contains(t, r.stderr, "batos reject "+id+" --reason TEXT")
	assert.NotContains(t, r.stderr, "--help", "not a usage error")

	r = c.run("pending")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(r.stdout, "\n")
	assert.Regexp(t, `^CYCLE\s+REQUESTED\s+OBJECT\s+SELECTOR\s+PERSONA\s+MODEL\s+DRY RUN ANSWERED$`, lines[0])
	assert.Regexp(t, `^`+id+`\s.*\s3\s+add\s+ALFRED\s+scripted:testdata/add\.jsonl\s+42$`, lines[1])

	r = c.run("pending", id)
	require.Equal(t, exitOK, r.code, r.stderr)
	for _, want := range []string{"cycle " + id + `: "add" for object 3 awaits approval`, "written by ALFRED (model scripted:testdata/add.jsonl)",
		"arguments: [2,40]", "dry run answered: 42", "dry run changed: nothing", "return a + b, nil", "batos approve " + id} {
		assert.Contains(t, r.stdout, want)
	}
	r = c.run("pending", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var list []approvalView
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
	require.Len(t, list, 1)
	assert.Equal(t, id, list[0].CycleID)
	assert.Equal(t, "42", list[0].Answer)
	assert.Equal(t, []any{float64(2), float64(40)}, list[0].Args)
	assert.Contains(t, list[0].Source, "return a + b, nil")

	r = c.run("log")
	assert.Contains(t, r.stdout, "AWAITING_APPROVAL (batos pending)")

	r = c.run("approve", id, "--by", "grace", "--why", "reviewed")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "installed add v1 on object 3 (by ALFRED, model scripted:testdata/add.jsonl, cycle "+id+", approved by grace)\n", r.stdout)
	assert.NotEqual(t, before, fingerprint(t, dir))
	r = c.run("send", "genesis", "add", "2", "40")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "42\n", r.stdout)
	r = c.run("pending")
	assert.Equal(t, "no methods await approval\n", r.stdout)
	r = c.run("pending", "--json")
	assert.Equal(t, "[]\n", r.stdout)
	r = c.run("log", "--json", id)
	var rec psm.Record
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rec))
	require.NotNil(t, rec.Decision)
	assert.Equal(t, psm.VerdictApproved, rec.Decision.Verdict)
	assert.Equal(t, "grace", rec.Decision.By)
	assert.Equal(t, "reviewed", rec.Decision.Reason)

	for _, tc := range []struct {
		name string
		args []string
		code int
		kind string
		says string
	}{
		{"approve twice", []string{"approve", id}, exitFailed, kindNotPending, "approved by grace"},
		{"reject after approval", []string{"reject", id, "--reason", "late"}, exitFailed, kindNotPending, "not awaiting approval"},
		{"pending of a decided cycle", []string{"pending", id}, exitFailed, kindNotPending, "approved by grace"},
		{"approve an unknown cycle", []string{"approve", "c0-0"}, exitFailed, "not_found", "no such cycle"},
		{"pending of an unknown cycle", []string{"pending", "c0-0"}, exitFailed, "not_found", "no such cycle"},
		{"approve without a cycle", []string{"approve"}, exitUsage, "bad_request", "accepts 1 arg(s)"},
		{"pending of two cycles", []string{"pending", "a", "b"}, exitUsage, "bad_request", "accepts at most 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.run(append([]string{"--json"}, tc.args...)...)
			assert.Equal(t, tc.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, tc.says)
			var body map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &body))
			assert.Equal(t, tc.kind, body["kind"])
		})
	}
}

// reject discards the method and says why; a later send starts anew.
func TestReject(t *testing.T) {
	dir, c, id, before := pendingImage(t)
	r := c.run("reject", id)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--reason TEXT is required")

	r = c.run("reject", id, "--reason", "adds the wrong way round")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "rejected cycle "+id+`: "add" for object 3 is not installed`+"\n", r.stdout)
	assert.Equal(t, before, fingerprint(t, dir))
	r = c.run("log", "--json", id)
	var rec psm.Record
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rec))
	assert.Equal(t, psm.Failed, rec.Outcome)
	assert.Equal(t, psm.AwaitingApproval, rec.FailedIn)
	require.NotNil(t, rec.Decision)
	assert.Equal(t, "ada", rec.Decision.By, "--by defaults to $USER")
	assert.Equal(t, "adds the wrong way round", rec.Decision.Reason)
	r = c.run("log")
	assert.Contains(t, r.stdout, "FAILED in AWAITING_APPROVAL")

	r = c.run("send", "--json", "-q", "genesis", "add", "2", "40")
	assert.Equal(t, exitPending, r.code, "a new cycle, waiting again")
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &body))
	assert.NotEqual(t, id, body["cycle"])

	r = c.run("reject", "--json", body["cycle"].(string), "--reason", "still no", "--by", "grace")
	require.Equal(t, exitOK, r.code, r.stderr)
	var rv rejectView
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rv))
	assert.Equal(t, rejectView{Cycle: body["cycle"].(string), Verdict: psm.VerdictRejected, Reason: "still no", Selector: "add"}, rv)
}

// edit validates a person's version of the method and installs it in
// place of the cycle's; one that fails changes nothing.
func TestEdit(t *testing.T) {
	dir, c, id, before := pendingImage(t)
	r := c.run("pending", "--json", id)
	require.Equal(t, exitOK, r.code, r.stderr)
	var ap approvalView
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ap))

	broken := filepath.Join(t.TempDir(), "add.go")
	require.NoError(t, os.WriteFile(broken, []byte(strings.Replace(ap.Source, "return a + b, nil", "return a - b, self.Set(\"last\", a)", 1)), 0o644))
	r = c.run("edit", "--json", id, broken)
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, `"add" for object 3 failed the`)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &body))
	assert.Equal(t, kindInvalidSource, body["kind"])
	assert.Equal(t, before, fingerprint(t, dir))
	r = c.run("pending", id)
	require.Equal(t, exitOK, r.code, "the cycle still awaits a decision:\n%s", r.stderr)

	r = c.run("edit", id, filepath.Join(t.TempDir(), "none.go"))
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, "no such file")

	edited := strings.Replace(ap.Source, "return a + b, nil", "sum := a + b\n\treturn sum, nil", 1)
	var out, errw syncBuffer
	code := execute(t.Context(), newApp(strings.NewReader(edited), &out, &errw, c.getenv, c.sigs.notify, c.sigs.stop),
		[]string{"edit", "--json", id, "-", "--why", "names the sum"})
	require.Equal(t, exitOK, code, errw.String())
	var v versionView
	require.NoError(t, json.Unmarshal([]byte(out.String()), &v))
	assert.Equal(t, 1, v.Version)
	assert.Contains(t, v.Source, "sum := a + b")
	assert.Equal(t, id, v.CycleID)
	assert.Equal(t, "ada", v.ApprovedBy)

	r = c.run("send", "genesis", "add", "2", "40")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "42\n", r.stdout)
	r = c.run("log", "--json", id)
	var rec psm.Record
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rec))
	assert.Equal(t, psm.VerdictEdited, rec.Decision.Verdict)
	assert.Equal(t, "names the sum", rec.Decision.Reason)
}

// send --kernel under the approve policy exits 3 like a local send, with
// the cycle id and the commands that decide it; the kernel's approve route
// installs the method.
func TestSendToAKernelAwaitsApproval(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "img")
	c := newCLI(map[string]string{envImage: dir, envModel: "scripted:testdata/add.jsonl"})
	require.Equal(t, exitOK, c.run("send", "genesis", "name").code)
	r := c.run("policy", "traits", "approve")
	require.Equal(t, exitOK, r.code, r.stderr)
	k := startKernel(t, c, dir, "--model", "scripted:testdata/add.jsonl")
	kc := newCLI(map[string]string{envKernel: k.url})

	r = kc.run("send", "--json", "genesis", "add", "2", "40")
	require.Equal(t, exitPending, r.code, "stderr:\n%s", r.stderr)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &body), r.stdout)
	assert.Equal(t, kindAwaitingApproval, body["kind"])
	assert.Equal(t, "add", body["selector"])
	id, _ := body["cycle"].(string)
	require.NotEmpty(t, id)
	assert.Contains(t, r.stderr, "cycle "+id+` wrote "add" for object 3; it awaits approval`)
	assert.Contains(t, r.stderr, "batos approve "+id)
	assert.NotContains(t, r.stderr, "--help", "not a usage error")

	status, ans := post(t, k.url+"/api/pending/"+id+"/approve", `{"by":"ada"}`, "")
	require.Equal(t, 200, status, "%v", ans)
	r = kc.run("send", "genesis", "add", "2", "40")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "42\n", r.stdout)
}
