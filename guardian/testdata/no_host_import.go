package method

func no_host_import(self any, args []any) (any, error) {
	return nil, nil
}

// verdict: reject entry.signature
