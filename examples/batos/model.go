package main

import (
	_ "embed"
	"fmt"
	"log/slog"

	"github.com/batos-dev/batos/persona"
	"github.com/batos-dev/batos/psm"
)

// replies is the offline script: the model that answers when neither
// --model nor $BATOS_MODEL names one. It knows one mission, awaken's:
// genesis greet_the_architect.
//
//go:embed replies.jsonl
var replies []byte

// mindOptions builds the Mind's options from the common flags: the model
// (--model for every persona, else $BATOS_MODEL and its per-persona
// friends, else the offline script; API keys and the model timeout from
// the environment either way) and the execution policy.
func (a *app) mindOptions(logger *slog.Logger) (psm.Options, string, error) {
	opts := psm.Options{Logger: logger}
	setPolicy(&opts, a.policy)
	// Keys, timeouts and per-persona specs come from the environment.
	po, err := persona.OptionsFromEnv(a.getenv)
	if err != nil {
		return opts, "", usagef("%w", err)
	}
	switch {
	case a.model != "":
		if _, err := persona.ParseSpec(a.model); err != nil {
			return opts, "", usagef("--model: %w", err)
		}
		po.Default, po.Specs = a.model, nil // one model for every persona
		opts.Personas = po
		return opts, a.model, nil
	case po.Default != "" || len(po.Specs) > 0:
		opts.Personas = po
		return opts, a.getenv(envModel) + " (from $" + envModel + ")", nil
	default:
		script, err := persona.ParseScript("replies.jsonl", replies)
		if err != nil {
			return opts, "", fmt.Errorf("the offline script: %w", err)
		}
		opts.Model, opts.Personas = script, po
		return opts, "offline script (try --model ollama:qwen2.5-coder:7b)", nil
	}
}

// setPolicy sets the execution policy the awakening records in the image
// ("" keeps psm's default, isolated). It is the one place that knows
// where psm takes the policy from.
func setPolicy(opts *psm.Options, policy string) {
	if policy != "" {
		opts.Live.Policy = policy
	}
}
