package persona

import (
	"context"

	"github.com/tmc/langchaingo/llms"
)

// AdapterHost makes a LoRA adapter ready in a serving engine for the length
// of a call: a [Router] calls Acquire before each call of a persona that
// has an adapter (see Options.Adapters) and release when the call returns.
// The residency manager of package persona/adapter (*adapter.Residency)
// implements it; persona itself never loads an adapter.
//
// An implementation must be safe for concurrent use, return when ctx ends,
// and keep the adapter ready until release is called. When Acquire fails
// the call is not made, and the error is the call's.
type AdapterHost interface {
	Acquire(ctx context.Context, name string) (release func(), err error)
}

// adapterModel selects an adapter by model name, making it ready in host
// first when host is set.
type adapterModel struct {
	host  AdapterHost // nil: the engine serves the adapter already
	name  string
	inner llms.Model
}

func (m *adapterModel) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	if m.host != nil {
		release, err := m.host.Acquire(ctx, m.name)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	opts := append(options[:len(options):len(options)], llms.WithModel(m.name))
	return m.inner.GenerateContent(ctx, msgs, opts...)
}

func (m *adapterModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, m, prompt, options...)
}
