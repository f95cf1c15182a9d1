package web

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Admin actions: adding and removing feeds from the dashboard. They are
// disabled unless the server has an admin token (WithAdminToken); the pages
// then show no forms and every admin request answers 403.
//
// A request proves it knows the token in one of two ways:
//   - Authorization: Bearer TOKEN, for scripts. Browsers never send it on
//     their own, so it needs no CSRF token.
//   - the session cookie the login form sets, for browsers. Its value is
//     EXPIRY.HMAC-SHA256(token, "session"+EXPIRY), EXPIRY in Unix seconds,
//     so changing the token ends every session; there is no server-side
//     session state, so logging out clears the browser's cookie only. A
//     cookie-authenticated POST must carry the CSRF token
//     HMAC-SHA256(token, "csrf"+cookie value) that the forms embed.
//
// Every admin POST whose Origin header is present and not podseed's own is
// refused, on top of the cookie's SameSite=Strict.

const (
	// sessionCookie names the admin session cookie.
	sessionCookie = "podseed_admin"
	// sessionTTL is how long a login lasts.
	sessionTTL = 12 * time.Hour
	// csrfField names the forms' hidden CSRF token field.
	csrfField = "csrf"
	// maxFormBytes bounds an admin request body: a feed URL or a token.
	maxFormBytes = 64 << 10
	// maxFeedURLBytes bounds a feed URL.
	maxFeedURLBytes = 2048
)

// WithAdminToken enables the admin actions, guarded by token; "" (the
// default) disables them.
func WithAdminToken(token string) Option {
	return func(s *Server) { s.adminToken = token }
}

// AdminLogin is the URL of the admin login form.
func (u URLs) AdminLogin() string { return u.Base + "/admin/login" }

// AdminLogout is the URL that ends an admin session (POST).
func (u URLs) AdminLogout() string { return u.Base + "/admin/logout" }

// AdminAddFeed is the URL that adds a feed (POST, field url).
func (u URLs) AdminAddFeed() string { return u.Base + "/admin/feeds" }

// AdminRemoveFeed is the URL that removes a feed (POST).
func (u URLs) AdminRemoveFeed(id int64) string {
	return fmt.Sprintf("%s/admin/feeds/%d/delete", u.Base, id)
}

// adminView is what the index and feed pages show of the admin actions.
type adminView struct {
	// Enabled is set when the server has an admin token.
	Enabled bool
	// CSRF is the forms' token, set when the request has a valid session;
	// without it the pages link to the login form instead.
	CSRF                            string
	LoginURL, LogoutURL, AddFeedURL string
	// RemoveFeedURL is set on a feed's page.
	RemoveFeedURL string
}

// loginPage is the model of the "login" template.
type loginPage struct {
	IndexURL, LoginURL, LogoutURL string
	// Failed is set after a wrong token; LoggedIn when the request has a
	// valid session.
	Failed, LoggedIn bool
	// SessionTTL is how long a login lasts, e.g. "12 hours".
	SessionTTL string
}

func (s *Server) adminEnabled() bool { return s.adminToken != "" }

// adminView returns the admin part of a page for r. A page that carries a
// CSRF token is marked uncacheable, since the token belongs to a session.
func (s *Server) adminView(w http.ResponseWriter, r *http.Request) adminView {
	if !s.adminEnabled() {
		return adminView{}
	}
	urls := s.catalog.URLs()
	v := adminView{Enabled: true, LoginURL: urls.AdminLogin(), LogoutURL: urls.AdminLogout(), AddFeedURL: urls.AdminAddFeed()}
	if session, ok := s.session(r); ok {
		v.CSRF = s.csrfToken(session)
		w.Header().Set("Cache-Control", "no-store")
	}
	return v
}

// mac is HMAC-SHA256 keyed with the admin token, in hex.
func (s *Server) mac(msg string) string {
	m := hmac.New(sha256.New, []byte(s.adminToken))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// equalSecret compares two secrets in constant time, lengths included:
// it compares their SHA-256 digests.
func equalSecret(a, b string) bool {
	da, db := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(da[:], db[:]) == 1
}

// isAdminToken reports whether token is the admin token.
func (s *Server) isAdminToken(token string) bool {
	return s.adminEnabled() && equalSecret(token, s.adminToken)
}

// newSession returns a session cookie value that expires sessionTTL from
// now.
func (s *Server) newSession() string {
	exp := strconv.FormatInt(s.now().Add(sessionTTL).Unix(), 10)
	return exp + "." + s.mac("session"+exp)
}

// session returns r's session cookie value and whether it is a valid,
// unexpired session.
func (s *Server) session(r *http.Request) (string, bool) {
	if !s.adminEnabled() {
		return "", false
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	exp, sig, ok := strings.Cut(c.Value, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(sig), []byte(s.mac("session"+exp))) != 1 {
		return "", false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !s.now().Before(time.Unix(unix, 0)) {
		return "", false
	}
	return c.Value, true
}

// csrfToken is the forms' CSRF token for a session.
func (s *Server) csrfToken(session string) string { return s.mac("csrf" + session) }

// sessionCookieFor returns the session cookie carrying value; an empty
// value clears it. It is Secure when r came over HTTPS or the public base
// URL is https (TLS ends at a proxy).
func (s *Server) sessionCookieFor(r *http.Request, value string) *http.Cookie {
	c := &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/", MaxAge: int(sessionTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || strings.HasPrefix(s.catalog.URLs().Base, "https://"),
	}
	if value == "" {
		c.MaxAge = -1
	}
	return c
}

// originOf returns a URL's origin, scheme://host[:port] in lower case
// without the scheme's default port; "" if it has none (as "null" has not).
func originOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	switch scheme {
	case "http":
		host = strings.TrimSuffix(host, ":80")
	case "https":
		host = strings.TrimSuffix(host, ":443")
	}
	return scheme + "://" + host
}

// sameOrigin reports whether r has no Origin header or podseed's own: the
// public base URL's, or the one r was addressed to (a browser sends the
// session cookie only to the host that set it, so a DNS-rebound name
// carries none).
func (s *Server) sameOrigin(r *http.Request) bool {
	vs, present := r.Header["Origin"]
	if !present {
		return true
	}
	if len(vs) != 1 {
		return false
	}
	o := originOf(vs[0])
	if o == "" {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return o == originOf(s.catalog.URLs().Base) || o == originOf(scheme+"://"+r.Host)
}

// allowAdminPOST answers r with 403 unless admin actions are enabled and r
// is not cross-origin.
func (s *Server) allowAdminPOST(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case !s.adminEnabled():
		s.adminDisabled(w)
		return false
	case !s.sameOrigin(r):
		http.Error(w, "forbidden: cross-origin request", http.StatusForbidden)
		return false
	}
	return true
}

func (s *Server) adminDisabled(w http.ResponseWriter) {
	http.Error(w, "forbidden: admin actions are disabled; start podseed serve with --admin-token or PODSEED_ADMIN_TOKEN to enable them",
		http.StatusForbidden)
}

// unauthorized answers 401 with msg.
func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="podseed"`)
	http.Error(w, "unauthorized: "+msg, http.StatusUnauthorized)
}

// parseAdminForm parses r's url-encoded body, at most maxFormBytes.
func parseAdminForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("%w: form: %v", errBadRequest, err)
	}
	return nil
}

// authorize checks an admin action's request and parses its form. It
// answers the request itself (403 disabled or cross-origin, 401 without
// valid credentials, 403 without the session's CSRF token) and returns
// ok false when the action may not run; bearer tells a script from a
// browser form.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (bearer, ok bool) {
	if !s.allowAdminPOST(w, r) {
		return false, false
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, token, _ := strings.Cut(auth, " ")
		if !strings.EqualFold(scheme, "Bearer") || !s.isAdminToken(strings.TrimSpace(token)) {
			s.log.Warn("admin request refused: wrong bearer token", "path", r.URL.Path, "remote_addr", r.RemoteAddr)
			unauthorized(w, "wrong admin token")
			return false, false
		}
		if err := parseAdminForm(w, r); err != nil {
			s.writeAdminError(w, r, err)
			return false, false
		}
		return true, true
	}
	session, valid := s.session(r)
	if !valid {
		unauthorized(w, "no valid admin session; log in at "+s.catalog.URLs().AdminLogin()+" or send Authorization: Bearer TOKEN")
		return false, false
	}
	if err := parseAdminForm(w, r); err != nil {
		s.writeAdminError(w, r, err)
		return false, false
	}
	if !equalSecret(r.PostForm.Get(csrfField), s.csrfToken(session)) {
		http.Error(w, "forbidden: missing or invalid CSRF token; reload the page and try again", http.StatusForbidden)
		return false, false
	}
	return false, true
}

// writeAdminError answers an admin action's error as plain text; a 400
// says what was wrong.
func (s *Server) writeAdminError(w http.ResponseWriter, r *http.Request, err error) {
	switch code := s.errorStatus(r, err); code {
	case 0:
	case http.StatusBadRequest:
		http.Error(w, err.Error(), code)
	default:
		http.Error(w, errorText(code), code)
	}
}

// writeText answers a script's successful admin action.
func writeText(w http.ResponseWriter, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprintf(w, format, args...)
}

// parseFeedURL trims raw and checks it is an absolute http or https URL.
func parseFeedURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if len(s) > maxFeedURLBytes {
		return "", fmt.Errorf("%w: feed URL longer than %d bytes", errBadRequest, maxFeedURLBytes)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Opaque != "" || u.Hostname() == "" {
		return "", fmt.Errorf("%w: feed URL %q: want an absolute http or https URL", errBadRequest, s)
	}
	return s, nil
}

// handleAddFeed adds the feed in the form field url. The new feed is due
// at once, so the scheduler's next due-feed check polls it.
func (s *Server) handleAddFeed(w http.ResponseWriter, r *http.Request) {
	bearer, ok := s.authorize(w, r)
	if !ok {
		return
	}
	u, err := parseFeedURL(r.PostForm.Get("url"))
	if err != nil {
		s.writeAdminError(w, r, err)
		return
	}
	f, created, err := s.catalog.AddFeed(r.Context(), u)
	if err != nil {
		s.writeAdminError(w, r, err)
		return
	}
	s.log.Info("admin added feed", "feed_id", f.ID, "created", created)
	switch {
	case !bearer:
		http.Redirect(w, r, fmt.Sprintf("%s/#feed-%d", s.catalog.URLs().Base, f.ID), http.StatusSeeOther)
	case created:
		writeText(w, "added feed %d %s\n", f.ID, f.URL)
	default:
		writeText(w, "feed %d %s already exists\n", f.ID, f.URL)
	}
}

// handleRemoveFeed removes feed {id}, its episodes and the torrents no other
// feed shares, and stops seeding those; their files stay on disk.
func (s *Server) handleRemoveFeed(w http.ResponseWriter, r *http.Request) {
	bearer, ok := s.authorize(w, r)
	if !ok {
		return
	}
	id, err := parseID(r.PathValue("id"), "")
	if err != nil {
		s.writeAdminError(w, r, err)
		return
	}
	if err := s.catalog.RemoveFeed(r.Context(), id); err != nil {
		s.writeAdminError(w, r, err)
		return
	}
	s.log.Info("admin removed feed", "feed_id", id)
	if bearer {
		writeText(w, "removed feed %d\n", id)
		return
	}
	http.Redirect(w, r, s.catalog.URLs().Base+"/", http.StatusSeeOther)
}

func (s *Server) newLoginPage(r *http.Request) loginPage {
	urls := s.catalog.URLs()
	_, loggedIn := s.session(r)
	return loginPage{IndexURL: urls.Base + "/", LoginURL: urls.AdminLogin(), LogoutURL: urls.AdminLogout(),
		LoggedIn: loggedIn, SessionTTL: fmt.Sprintf("%g hours", sessionTTL.Hours())}
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	if !s.adminEnabled() {
		s.adminDisabled(w)
		return
	}
	s.render(w, r, "login", s.newLoginPage(r))
}

// handleLogin checks the form field token and, if it is the admin token,
// sets the session cookie and goes back to the index.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !s.allowAdminPOST(w, r) {
		return
	}
	if err := parseAdminForm(w, r); err != nil {
		s.writeAdminError(w, r, err)
		return
	}
	if !s.isAdminToken(r.PostForm.Get("token")) {
		s.log.Warn("admin login refused: wrong token", "remote_addr", r.RemoteAddr)
		page := s.newLoginPage(r)
		page.Failed = true
		w.Header().Set("WWW-Authenticate", `Bearer realm="podseed"`)
		s.renderStatus(w, r, http.StatusUnauthorized, "login", page)
		return
	}
	http.SetCookie(w, s.sessionCookieFor(r, s.newSession()))
	s.log.Info("admin logged in", "remote_addr", r.RemoteAddr)
	http.Redirect(w, r, s.catalog.URLs().Base+"/", http.StatusSeeOther)
}

// handleLogout clears the session cookie. It needs no CSRF token: at worst
// another site could log the browser out, and the Origin check and
// SameSite=Strict stop that already.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !s.allowAdminPOST(w, r) {
		return
	}
	http.SetCookie(w, s.sessionCookieFor(r, ""))
	http.Redirect(w, r, s.catalog.URLs().Base+"/", http.StatusSeeOther)
}

// renderStatus is render with a status other than 200.
func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, code int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		w.Header().Del("WWW-Authenticate")
		s.writeError(w, r, fmt.Errorf("render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}
