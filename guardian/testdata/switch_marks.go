package method

import "batos"

func switch_marks(self batos.Self, args []any) (any, error) {
	cmd, _ := args[0].(string)
	switch cmd {
	case "reset":
		self.Set("count", int64(0))
		self.MarkChanged()
	case "drop":
		self.Delete("count")
		self.MarkChanged()
		return "dropped", nil
	default:
		return "unknown " + cmd, nil
	}
	return "done", nil
}

// verdict: pass
// writes: true
