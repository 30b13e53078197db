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
var Perplexity = sub(files, "perplexity")

// sub is fsys's folder dir; it fails only for a malformed name.
func sub(fsys fs.FS, dir string) fs.FS {
	f, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return f
}

// RealStream is the name of the real recorded stream (agent-web-search).
const RealStream = "agent-web-search"

// Ext is the file-name ending of a recorded stream.
const Ext = ".chunks.txt"
