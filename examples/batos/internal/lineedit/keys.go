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

// control is the key a control character stands for.
func control(c byte) keyCode {
	switch c {
	case 1:
		return keyHome // Ctrl-A
	case 2:
		return keyLeft // Ctrl-B
	case 3:
		return keyCtrlC
	case 4:
		return keyCtrlD
	case 5:
		return keyEnd // Ctrl-E
	case 6:
		return keyRight // Ctrl-F
	case 8, 127:
		return keyBackspace
	case 10, 13:
		return keyEnter
	case 11:
		return keyKillEnd
	case 12:
		return keyClear
	case 14:
		return keyDown // Ctrl-N
	case 16:
		return keyUp // Ctrl-P
	case 21:
		return keyKillStart
	case 23:
		return keyKillWord
	}
	return keyNone
}

// escape is the key an escape sequence stands for: ESC [ params final,
// or ESC O final.
func escape(params []byte, final byte) keyCode {
	switch final {
	case 'A':
		return keyUp
	case 'B':
		return keyDown
	case 'C':
		return keyRight
	case 'D':
		return keyLeft
	case 'H':
		return keyHome
	case 'F':
		return keyEnd
	case '~':
		switch string(params) {
		case "1", "7":
			return keyHome
		case "4", "8":
			return keyEnd
		case "3":
			return keyDelete
		}
	}
	return keyNone
}

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
				return key{code: escape(b[2:i], b[i])}, i + 1, true
			}
		}
		return key{}, 0, false
	case c < 0x20 || c == 127:
		return key{code: control(c)}, 1, true
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
