package live_test

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash/adler32"
	"hash/crc32"
	"hash/fnv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/batos-dev/batos/uvm"
	"github.com/batos-dev/batos/uvm/live"
)

func TestSandbox(t *testing.T) {
	t.Run("dangerous packages are never exported", func(t *testing.T) {
		for _, p := range []string{"os", "os/exec", "syscall", "unsafe", "reflect", "net/http", "runtime/debug", "sync"} {
			_, err := live.New(live.Options{Imports: []string{"strings", p}})
			require.Error(t, err, p)
		}
	})
	for _, c := range []struct {
		name string
		src  string
		want error
	}{
		{"sleep is withheld", "package p\n\nimport (\n\t\"time\"\n\n\t\"batos\"\n)\n\nfunc p(self batos.Self, args []any) (any, error) {\n\ttime.Sleep(time.Hour)\n\treturn nil, nil\n}\n", live.ErrCompile},
		{"timers are withheld", "package p\n\nimport (\n\t\"time\"\n\n\t\"batos\"\n)\n\nfunc p(self batos.Self, args []any) (any, error) {\n\ttime.AfterFunc(time.Millisecond, func() { self.Set(\"late\", 1) })\n\treturn nil, nil\n}\n", live.ErrCompile},
		{"packages off the allowlist are not found", "package p\n\nimport (\n\t\"encoding/gob\"\n\n\t\"batos\"\n)\n\nfunc p(self batos.Self, args []any) (any, error) {\n\treturn gob.NewDecoder(nil), nil\n}\n", live.ErrCompile},
		{"the meter is the instrumentation's", "package p\n\nimport \"batos\"\n\nfunc p(self batos.Self, args []any) (any, error) {\n\tm := batos.Enter(self)\n\tm.Fuel = 1 << 40\n\treturn nil, nil\n}\n", live.ErrRefused},
		{"reserved identifiers", "package p\n\nimport \"batos\"\n\nfunc p(self batos.Self, args []any) (any, error) {\n\t__x := 1\n\treturn __x, nil\n}\n", live.ErrRefused},
		{"package state", "package p\n\nimport \"batos\"\n\nvar n int\n\nfunc p(self batos.Self, args []any) (any, error) {\n\tn++\n\treturn n, nil\n}\n", live.ErrRefused},
		{"channels", "package p\n\nimport \"batos\"\n\nfunc p(self batos.Self, args []any) (any, error) {\n\tc := make(chan int)\n\treturn <-c, nil\n}\n", live.ErrRefused},
		{"fmt output goes nowhere", "package p\n\nimport (\n\t\"fmt\"\n\n\t\"batos\"\n)\n\nfunc p(self batos.Self, args []any) (any, error) {\n\tn, err := fmt.Println(\"to the host's stdout?\")\n\treturn n, err\n}\n", nil},
	} {
		for _, policy := range policies {
			t.Run(c.name+"/"+policy, func(t *testing.T) {
				t.Parallel()
				im, _ := newImage(t, live.UnauditedOptions(live.Options{Policy: policy, Workers: 1}))
				var oid uvm.OID
				require.NoError(t, im.Update(ctx, func(tx *uvm.Tx) error {
					o, err := tx.New()
					if err != nil {
						return err
					}
					oid = o.OID()
					_, err = tx.InstallMethod(o, uvm.Method{Selector: "p", Source: c.src})
					return err
				}))
				_, err := im.Send(ctx, oid, "p")
				if c.want == nil {
					require.NoError(t, err)
					return
				}
				require.ErrorIs(t, err, c.want)
			})
		}
	}
}

// checksumSrc is a method a model writes for ids and integrity checks: the
// hash packages are pure functions of their input.
const checksumSrc = `package checksum

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash/adler32"
	"hash/crc32"
	"hash/fnv"

	"batos"
)

// checksum answers the digests of its argument.
func checksum(self batos.Self, args []any) (any, error) {
	s, _ := args[0].(string)
	data := []byte(s)
	sum := sha256.Sum256(data)
	h := fnv.New64a()
	h.Write(data)
	h32 := fnv.New32()
	h32.Write(data)
	m := md5.Sum(data)
	s1 := sha1.Sum(data)
	s5 := sha512.Sum512(data)
	return map[string]any{
		"sha256":  hex.EncodeToString(sum[:]),
		"fnv64a":  int64(h.Sum64()),
		"fnv32":   int64(h32.Sum32()),
		"md5":     hex.EncodeToString(m[:]),
		"sha1":    hex.EncodeToString(s1[:]),
		"sha512":  hex.EncodeToString(s5[:]),
		"crc32":   int64(crc32.ChecksumIEEE(data)),
		"adler32": int64(adler32.Checksum(data)),
	}, nil
}
`

// The hash and checksum packages are allowed with the default audit: a
// method using them is audited, compiled, installed and answers what Go
// answers.
func TestChecksumPackages(t *testing.T) {
	data := []byte("batos")
	sum := sha256.Sum256(data)
	h := fnv.New64a()
	h.Write(data)
	h32 := fnv.New32()
	h32.Write(data)
	m := md5.Sum(data)
	s1 := sha1.Sum(data)
	s5 := sha512.Sum512(data)
	want := map[string]any{
		"sha256":  hex.EncodeToString(sum[:]),
		"fnv64a":  int64(h.Sum64()),
		"fnv32":   int64(h32.Sum32()),
		"md5":     hex.EncodeToString(m[:]),
		"sha1":    hex.EncodeToString(s1[:]),
		"sha512":  hex.EncodeToString(s5[:]),
		"crc32":   int64(crc32.ChecksumIEEE(data)),
		"adler32": int64(adler32.Checksum(data)),
	}
	for _, policy := range policies {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			im, r := newImage(t, live.Options{Policy: policy, Workers: 1})
			oid := installNew(t, im, r, uvm.Method{Selector: "checksum", Source: checksumSrc})
			got, err := im.Send(ctx, oid, "checksum", "batos")
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}
