// Package examples holds runnable programs that show batos at work; see the
// awaken directory for first contact.
package examples
