// Package demo holds the demo shop: static pages (a product list, product
// pages, a cart, a checkout, login and logout) instrumented with the ecrm tag,
// loaded from /ecrm.js with the write key "demo". They show a recommendations
// block filled by the tag and a banner chosen by /v1/decide. The catalog is
// static/products.json; the cart lives in the browser's localStorage.
//
// The package only exposes the files; the server decides where to mount them.
package demo

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// FS returns the demo shop's files with the static folder as the root, so that
// index.html, products.json, app.js and style.css are at the top. The pages
// link to each other relatively and load the tag from /ecrm.js, so they can be
// served under any prefix on the host that serves the tag.
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// fs.Sub fails only on an invalid path; "static" is a constant.
		panic(err)
	}
	return sub
}
