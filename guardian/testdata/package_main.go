package main

import "batos"

func package_main(self batos.Self, args []any) (any, error) {
	return nil, nil
}

// verdict: reject package.main
