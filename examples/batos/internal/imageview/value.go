package imageview

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/batos-dev/batos/uvm"
)

// Decode reads one JSON value as a message argument, the inverse of
// [Plain]: integers become int64, other numbers float64, {"$ref": N} a
// reference to object N and {"$bytes": base64} bytes; objects become
// map[string]any and arrays []any.
func Decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("imageview: more than one JSON value")
	}
	return fromJSON(v)
}

func fromJSON(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n, nil
		}
		return strconv.ParseFloat(string(x), 64)
	case []any:
		for i, e := range x {
			d, err := fromJSON(e)
			if err != nil {
				return nil, err
			}
			x[i] = d
		}
		return x, nil
	case map[string]any:
		if len(x) == 1 {
			if r, ok := x["$ref"]; ok {
				n, ok := r.(json.Number)
				oid, err := strconv.ParseUint(string(n), 10, 64)
				if !ok || err != nil {
					return nil, fmt.Errorf("imageview: {\"$ref\": %v}: want an OID", r)
				}
				return uvm.Ref{OID: uvm.OID(oid)}, nil
			}
			if b, ok := x["$bytes"]; ok {
				s, _ := b.(string)
				raw, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return nil, fmt.Errorf("imageview: {\"$bytes\": …}: %w", err)
				}
				return raw, nil
			}
		}
		for k, e := range x {
			d, err := fromJSON(e)
			if err != nil {
				return nil, err
			}
			x[k] = d
		}
		return x, nil
	}
	return v, nil
}
