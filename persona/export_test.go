package persona

// ScriptedReplies returns a copy of s's script, for tests that check what
// a script parsed into.
func ScriptedReplies(s *Scripted) []Reply { return append([]Reply(nil), s.replies...) }
