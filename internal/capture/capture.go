// Package capture holds recorded Agent API streams: a real one, kept
// unmodified with its origin and licence noted in perplexity/README.md, and
// a few constructed from Perplexity's documentation for the shapes the real
// one does not show. The practice server replays them and the tests hold the
// library and the practice server against them.
package capture

import (
	"embed"
	"io/fs"
)

//go:embed perplexity/*.chunks.txt perplexity/*.json
var files embed.FS

// Perplexity holds the Agent API captures: NAME.chunks.txt is a stream, one
// JSON event per line as it arrived; NAME.json the same request not streamed.
var Perplexity, _ = fs.Sub(files, "perplexity")

// RealStream is the name of the real recorded stream (agent-web-search).
const RealStream = "agent-web-search"

// Ext is the file-name ending of a recorded stream.
const Ext = ".chunks.txt"
