// Package lineedit reads lines from a terminal, the way a shell does: the
// cursor keys move in the line and through the history, Ctrl-A, Ctrl-E,
// Ctrl-U, Ctrl-K and Ctrl-W edit it, a line ending in a backslash goes on
// to the next, Ctrl-C drops the line (ErrInterrupted) and Ctrl-D on an
// empty line ends the input (io.EOF). It is what the batos console reads
// its requests with.
//
//	ed := lineedit.New(os.Stdin, os.Stdout)
//	for {
//		line, err := ed.ReadLine("batos> ", "  ... ")
//		if errors.Is(err, lineedit.ErrInterrupted) {
//			continue
//		}
//		if err != nil {
//			break // io.EOF: Ctrl-D
//		}
//		...
//	}
//
// The terminal is in raw mode only while ReadLine runs, so between lines
// it behaves as usual: Ctrl-C sends SIGINT, which is how the console
// cancels a running cycle. It is deliberately small; golang.org/x/term's
// own Terminal would do the editing, but it ends the input on Ctrl-C.
//
// # Caveats
//
//   - One row: a line wider than the terminal scrolls sideways.
//   - Characters count one column each (no wide-character widths).
//   - A lone Escape waits for the key after it.
package lineedit
