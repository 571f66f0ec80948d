package commands

// Who is acting, and with what credential (design.md §3): --as USER, else
// GPSOC_USER, else config user, else the login name when a gpsoc user of
// that name exists, else the one user the OS login is bound to. Acting as
// that user then needs their credential: a session `gpsoc login` opened, a
// binding of this OS login to the user (`gpsoc user bind`), or their
// passphrase (GPSOC_PASSPHRASE_FILE, or typed at a terminal). Remote mode
// needs none of this: the token decides who is acting (remote.go).

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/charmbracelet/x/term"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// OSLogin is the OS login this process runs as (Factory.Login in tests).
func (f *Factory) OSLogin() string {
	if f.Login != nil {
		return f.Login()
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// actAs is the services acting as name, once its credential is checked.
func (f *Factory) actAs(ctx context.Context, p *clinical.Practice, name string, explicit bool) (*clinical.Service, error) {
	if f.remoteUser != "" || remoteConfigured(f) {
		// Remote mode: the server checks the token (and, when it says,
		// the token decides who is acting; a server that does not say
		// enforces its own access for the token whatever name is shown).
		return p.As(ctx, name)
	}
	login := f.OSLogin()
	if !explicit {
		n, err := f.defaultUser(ctx, p, name, login)
		if err != nil {
			return nil, err
		}
		name = n
	}
	cred := clinical.Credential{Login: login, Session: readSession(f, name)}
	if err := f.passphrase(ctx, p, name, &cred); err != nil {
		return nil, err
	}
	return p.Authenticate(ctx, name, cred)
}

// defaultUser is who acts when no one was named: the user named as the
// login (name), else the one user the login is bound to.
func (f *Factory) defaultUser(ctx context.Context, p *clinical.Practice, name, login string) (string, error) {
	var ve *record.ValidationError
	if _, err := p.As(ctx, name); err == nil || !errors.As(err, &ve) {
		return name, nil // a user of that name (a disabled one is refused with its reason)
	}
	bound, err := p.BoundUsers(ctx, login)
	if err != nil {
		return "", err
	}
	switch len(bound) {
	case 1:
		return bound[0], nil
	case 0:
		return "", &UsageError{fmt.Sprintf("no acting user: pass --as USER or set GPSOC_USER (the login name %q is not a gpsoc user)", name)}
	}
	return "", &UsageError{fmt.Sprintf("no acting user: your login %q is bound to %s: pick one with --as USER", login, strings.Join(bound, ", "))}
}

// passphrase fills in the passphrase, from GPSOC_PASSPHRASE_FILE, or typed
// at a terminal when nothing else would let this process act as name.
func (f *Factory) passphrase(ctx context.Context, p *clinical.Practice, name string, cred *clinical.Credential) error {
	if file := f.Config.GetString("passphrase-file"); file != "" {
		pass, err := readPassphraseFile(file)
		if err != nil {
			return err
		}
		cred.Passphrase, cred.HavePassphrase = pass, true
		return nil
	}
	if cred.Session != "" {
		return nil
	}
	if bound, err := p.BoundUsers(ctx, cred.Login); err == nil {
		for _, b := range bound {
			if b == name {
				return nil
			}
		}
	}
	pass, ok, err := f.promptSecret(fmt.Sprintf("Passphrase or PIN for %s: ", name))
	if err != nil || !ok {
		return err
	}
	cred.Passphrase, cred.HavePassphrase = pass, true
	return nil
}

// readPassphraseFile reads a passphrase file's first line. It must be the
// user's own and unreadable to others: a passphrase others can read is not one.
func readPassphraseFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", &UsageError{fmt.Sprintf("GPSOC_PASSPHRASE_FILE %q: %v", path, err)}
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", &UsageError{fmt.Sprintf("GPSOC_PASSPHRASE_FILE %q is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", &UsageError{fmt.Sprintf("GPSOC_PASSPHRASE_FILE %q: %v", path, err)}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimRight(line, "\r"), nil
}

// promptSecret reads a secret from the terminal without echo; ok is false
// when there is no terminal to ask at.
func (f *Factory) promptSecret(prompt string) (string, bool, error) {
	in, isFile := f.IO.In.(*os.File)
	if !isFile || !term.IsTerminal(in.Fd()) {
		return "", false, nil
	}
	fmt.Fprint(f.IO.ErrOut, prompt)
	b, err := term.ReadPassword(in.Fd())
	fmt.Fprintln(f.IO.ErrOut)
	if err != nil {
		return "", false, fmt.Errorf("read passphrase: %w", err)
	}
	return string(b), true, nil
}

// readNewSecret reads a new passphrase: from a file (--from-file), else
// typed twice at the terminal.
func (f *Factory) readNewSecret(file string) (string, error) {
	if file != "" {
		if file == "-" {
			line, err := bufio.NewReader(f.IO.In).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return "", err
			}
			return strings.TrimRight(line, "\r\n"), nil
		}
		return readPassphraseFile(file)
	}
	a, ok, err := f.promptSecret("New passphrase or PIN: ")
	if err != nil {
		return "", err
	}
	if !ok {
		return "", usagef("no terminal to type a passphrase at: pass --from-file FILE (or - for standard input)")
	}
	b, _, err := f.promptSecret("Type it again: ")
	if err != nil {
		return "", err
	}
	if a != b {
		return "", &record.ValidationError{Field: "passphrase", Value: "…", Reason: "the two did not match"}
	}
	return a, nil
}

// ---- sessions (gpsoc login) ----

// sessionDir holds the session files: $XDG_RUNTIME_DIR/gpsoc (per user,
// tmpfs, gone at logout), else a gpsoc-UID directory in the temp dir. It
// must be a directory of ours that only we can enter.
func sessionDir() (string, error) {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("gpsoc-%d", os.Getuid()))
	if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
		dir = filepath.Join(rt, "gpsoc")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("session dir %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 || (ok && int(st.Uid) != os.Getuid()) {
		return "", fmt.Errorf("session dir %s is not a private directory of yours (mode %v): remove it", dir, fi.Mode())
	}
	return dir, nil
}

// sessionPath is the file of name's session on this data dir.
func sessionPath(f *Factory, name string) (string, error) {
	dir, err := sessionDir()
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(f.DataDir())
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(abs))
	return filepath.Join(dir, "session-"+hex.EncodeToString(h[:8])+"-"+name), nil
}

// readSession is name's session secret on this data dir, or "".
func readSession(f *Factory, name string) string {
	path, err := sessionPath(f, name)
	if err != nil {
		return ""
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 != 0 {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// writeSession keeps a session secret in an owner-only file.
func writeSession(f *Factory, name, secret string) (string, error) {
	path, err := sessionPath(f, name)
	if err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	if err := os.WriteFile(tmp, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write session %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write session %s: %w", path, err)
	}
	return path, nil
}
