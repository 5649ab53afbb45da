// Package persona holds the composite mind's personas (ALFRED, BRICK, ROBIN,
// BABS): their codex as data in the image, and the language models that speak
// for them, reached through langchaingo.
package persona
