package inspector

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// csp keeps the page to its own files: no inline script, nothing from
// elsewhere.
const csp = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Handler serves the page: GET / is the page itself, GET /ui/FILE its
// scripts and styles. The files hold no image data, so they need no
// token.
func Handler() http.Handler {
	files, _ := fs.Sub(static, "static") // the directory is embedded: no error
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if r.URL.Path == "/" {
			http.ServeFileFS(w, r, files, "index.html")
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, "/ui/")
		if !ok || name == "" || name == "index.html" {
			http.NotFound(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		fileServer.ServeHTTP(w, r2)
	})
}

// Public reports whether a request path is one of the page's files, which
// the kernel serves without a token.
func Public(path string) bool {
	return path == "/" || strings.HasPrefix(path, "/ui/")
}
