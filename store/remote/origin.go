package remote

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// The token goes to the configured server only. A server's answer can name
// other URLs (a Bundle's next link, a redirect); following one to another
// origin with the token would hand it to whoever that origin is.

// origin is a URL's scheme and host (with port), lower-cased.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// checkOrigin refuses a URL outside the configured server's origin.
func (s *Store) checkOrigin(target string) error {
	t, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("remote: URL %q: %w", target, err)
	}
	b, err := url.Parse(s.base)
	if err != nil {
		return fmt.Errorf("remote.url %q: %w", s.base, err)
	}
	if origin(t) != origin(b) {
		return fmt.Errorf("remote: the server sent a link to %s, outside the configured server %s: refused (the token is sent only to remote.url's origin)",
			cutURL(target), origin(b))
	}
	return nil
}

func cutURL(u string) string {
	if len(u) > 200 {
		return u[:200] + "…"
	}
	return u
}

// errCrossOrigin stops a redirect away from the configured origin.
var errCrossOrigin = errors.New("redirect to another origin refused (the token is sent only to remote.url's origin)")

// sameOriginClient is c, refusing redirects that leave the origin of the
// request that started them (Go drops the Authorization header only on a
// redirect to another domain, not to a subdomain or another port).
func sameOriginClient(c *http.Client) *http.Client {
	cc := *c
	next := c.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && origin(req.URL) != origin(via[0].URL) {
			return errCrossOrigin
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cc
}
