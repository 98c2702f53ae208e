// Package console is the marketers' console of ecrm: what its reports
// compute from the stats aggregates and the profiles (the funnel by
// channel and weekly cohort, the value of the customer base, the
// relationship policy each group calls for, CSV cells safe to open in a
// spreadsheet), and the single-page app itself, embedded in the binary.
//
// It imports no infrastructure: personalize serves the reports over HTTP
// (personalize/console.go) and mounts the app at /console.
package console

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// FS returns the console's files with the static folder as the root:
// index.html, app.js and app.css. The page loads its script and style
// relatively, so it can be served under any prefix.
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// fs.Sub fails only on an invalid path; "static" is a constant.
		panic(err)
	}
	return sub
}
