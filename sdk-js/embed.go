// Package sdkjs embeds the built ecrm browser tag, so that the Go servers can
// serve it (at /ecrm.js) from the binary. The tag's sources, build and tests are
// the JavaScript project in this folder; see README.md.
package sdkjs

import _ "embed"

// Tag is dist/ecrm.min.js: the minified tracking tag, an ES2017 script to serve
// as text/javascript. It is rebuilt with `npm run build` and committed.
//
//go:embed dist/ecrm.min.js
var Tag []byte
