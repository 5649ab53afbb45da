package method

import "batos"

func slot_nested_readonly(self batos.Self, args []any) (any, error) {
	cfg, _ := self.Get("config").(map[string]any)
	db, _ := cfg["db"].(map[string]any)
	host, _ := db["host"].(string)
	port, _ := db["port"].(float64)
	local := map[string]any{"host": host, "port": port}
	local["host"] = host + ":local"
	return local, nil
}

// verdict: pass
// writes: false
