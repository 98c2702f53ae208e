// Package demo embeds the demo shop served by `ecrm run` at /demo/.
package demo

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// FS returns the demo shop's files, rooted at its static folder.
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}
