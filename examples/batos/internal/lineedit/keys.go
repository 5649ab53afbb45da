package lineedit

import (
	"unicode/utf8"
)

// keyCode is what a key does.
type keyCode int

const (
	keyNone keyCode = iota // a key the editor ignores
	keyRune
	keyEnter
	keyBackspace
	keyDelete
	keyLeft
	keyRight
	keyUp
	keyDown
	keyHome
	keyEnd
	keyCtrlC
	keyCtrlD
	keyKillStart // Ctrl-U
	keyKillEnd   // Ctrl-K
	keyKillWord  // Ctrl-W
	keyClear     // Ctrl-L
)

type key struct {
	code keyCode
	r    rune
}

// controls maps control characters to keys.
var controls = map[byte]keyCode{
	1: keyHome, 2: keyLeft, 3: keyCtrlC, 4: keyCtrlD, 5: keyEnd, 6: keyRight,
	8: keyBackspace, 11: keyKillEnd, 12: keyClear, 13: keyEnter, 10: keyEnter,
	14: keyDown, 16: keyUp, 21: keyKillStart, 23: keyKillWord, 127: keyBackspace,
}

// csi maps the final byte of an escape sequence (ESC [ … X, ESC O X) to
// a key; "~" sequences go by their number.
var csi = map[byte]keyCode{'A': keyUp, 'B': keyDown, 'C': keyRight, 'D': keyLeft, 'H': keyHome, 'F': keyEnd}
var tilde = map[string]keyCode{"1": keyHome, "7": keyHome, "4": keyEnd, "8": keyEnd, "3": keyDelete}

// key returns the next key, reading the terminal when what is pending
// does not hold a whole one.
func (e *Editor) key() (key, error) {
	buf := make([]byte, 256)
	for {
		if k, n, ok := decode(e.pending); ok {
			e.pending = e.pending[n:]
			if k.code == keyNone {
				continue
			}
			return k, nil
		}
		n, err := e.in.Read(buf)
		e.pending = append(e.pending, buf[:n]...)
		if err != nil && n == 0 {
			return key{}, err
		}
	}
}

// decode reads one key from the front of b: the key, how many bytes it
// took, and whether b held a whole key.
func decode(b []byte) (key, int, bool) {
	if len(b) == 0 {
		return key{}, 0, false
	}
	c := b[0]
	switch {
	case c == 0x1b:
		if len(b) < 2 {
			return key{}, 0, false
		}
		if b[1] != '[' && b[1] != 'O' {
			return key{}, 2, true // Alt-something: ignored
		}
		for i := 2; i < len(b); i++ {
			if b[i] >= 0x40 && b[i] <= 0x7e {
				if b[i] == '~' {
					return key{code: tilde[string(b[2:i])]}, i + 1, true
				}
				return key{code: csi[b[i]]}, i + 1, true
			}
		}
		return key{}, 0, false
	case c < 0x20 || c == 127:
		return key{code: controls[c]}, 1, true
	}
	if !utf8.FullRune(b) {
		return key{}, 0, false
	}
	r, n := utf8.DecodeRune(b)
	if r == utf8.RuneError {
		return key{}, n, true
	}
	return key{code: keyRune, r: r}, n, true
}
