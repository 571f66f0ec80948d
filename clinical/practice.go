// Package clinical holds the verbs of the record: the services every face
// (CLI, TUI, API) calls, the role table, and the clinical rules. It owns the
// patient find index and keeps it current on every write it makes.
package clinical

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opengpsoc/gpsoc/find"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Terminology is what the services need of the terminology: checking that a
// code is known and active, and its display.
type Terminology interface {
	// Lookup returns the display of an active code; an unknown or inactive
	// code is a *record.ValidationError naming the replacement when there is one.
	Lookup(system, code string) (display string, err error)
}

// Options configure a Practice.
type Options struct {
	Store  store.Store
	Terms  Terminology // nil: codes are checked for shape only
	Now    func() time.Time
	Source string // cli | tui | api: written on audit events
	// IndexSnapshot is a file where the patient find index is cached between
	// processes (it holds names: keep it beside the practice file, owner-only).
	IndexSnapshot string
}

// Practice is one practice record and its services, shared by every user of
// the process (the server has many; the CLI one).
type Practice struct {
	st     store.Store
	terms  Terminology
	now    func() time.Time
	source string

	codeCache sync.Map // system|code -> display of a code the terminology accepted
	tagCache  sync.Map // system|code -> its hierarchies (Classifier)

	snapPath string

	// inbox holds the reports waiting in the results inbox (inbox.go).
	inbox inboxCache

	mu     sync.Mutex
	idx    *find.Patients
	idxSeq uint64

	// authGen counts changes to users and tokens made through this
	// Practice, so a server's short-lived token cache drops at once what a
	// disable or a revocation made stale (AuthGen).
	authGen atomic.Uint64
}

// AuthGen changes whenever a user or token is changed through this Practice.
func (p *Practice) AuthGen() uint64 { return p.authGen.Load() }

func (p *Practice) authChanged() { p.authGen.Add(1) }

// New makes a Practice over a store.
func New(o Options) *Practice {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Source == "" {
		o.Source = "cli"
	}
	return &Practice{st: o.Store, terms: o.Terms, now: o.Now, source: o.Source, snapPath: o.IndexSnapshot}
}

// Now is the practice clock.
func (p *Practice) Now() time.Time { return p.now() }

// Init creates the practice and its first admin, bound to the OS login that
// made it (login; "" binds none). It refuses a file that already holds one.
func (p *Practice) Init(ctx context.Context, name, ods, admin, login string, demo bool) (*record.Practice, error) {
	if name == "" {
		return nil, record.Invalid("practice", name, "a practice name is required")
	}
	if err := record.CheckLine("practice", name); err != nil {
		return nil, err
	}
	code, err := record.NormaliseODS(ods)
	if err != nil {
		return nil, err
	}
	if err := record.ValidUserName(admin); err != nil {
		return nil, record.Invalid("admin", admin, "a user name is lower-case letters, digits, '.', '-' or '_'")
	}
	now := p.now().UTC()
	pr := &record.Practice{Name: name, ODS: code, Demo: demo, RecordedAt: now, RecordedBy: admin,
		Settings: map[string]string{}}
	err = p.st.Update(ctx, func(tx store.WTx) error {
		if cur, err := tx.Practice(); err == nil {
			return &record.ConflictError{What: "practice", Msg: fmt.Sprintf("this data dir already holds %s (%s)", cur.Name, cur.ODS)}
		}
		if err := tx.PutPractice(pr); err != nil {
			return err
		}
		u := &record.User{Name: admin, Role: record.RoleAdmin, RecordedAt: now, RecordedBy: admin}
		if login != "" {
			if err := validLogin(login); err != nil {
				return err
			}
			u.Logins = []string{login}
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return tx.Append(&record.AuditEvent{At: now, User: admin, Login: login, Role: record.RoleAdmin, Action: "init", Kind: "practice", EntityID: code, Version: pr.Version, Source: p.source})
	})
	if err != nil {
		return nil, err
	}
	return pr, nil
}

// As returns the services acting as a user, who must not be disabled. It
// checks no credential: the API calls it for a token's holder (AsToken), a
// local process through Authenticate.
func (p *Practice) As(ctx context.Context, user string) (*Service, error) {
	if user == "" {
		return nil, record.Invalid("as", "", "no acting user: pass --as USER, or set GPSOC_USER")
	}
	var u *record.User
	var pr *record.Practice
	err := p.st.View(ctx, func(tx store.Tx) error {
		var err error
		if pr, err = tx.Practice(); err != nil {
			return err
		}
		u, err = tx.User(user)
		return err
	})
	if err != nil {
		if record.IsNotFound(err) && pr != nil {
			return nil, record.Invalid("as", user, "no such user in %s (add one with gpsoc user add)", pr.Name)
		}
		return nil, err
	}
	if u.Disabled {
		return nil, &CredentialError{User: user, Why: "the user is disabled"}
	}
	return &Service{p: p, user: *u, practice: *pr}, nil
}

// Service is the practice's services acting as one user.
type Service struct {
	p        *Practice
	user     record.User
	practice record.Practice
	login    string        // the OS login of a local process (identity.go)
	token    *record.Token // the API token it acts by (identity.go)
	unit     *unitStore    // set inside a unit of work (unit.go)
}

// User is the acting user.
func (s *Service) User() record.User { return s.user }

// PracticeInfo is the practice as it was when the service was made.
func (s *Service) PracticeInfo() record.Practice { return s.practice }

// Practice is the shared practice.
func (s *Service) Practice() *Practice { return s.p }

// Now is the practice's clock.
func (s *Service) Now() time.Time { return s.p.now() }

func (s *Service) event(action string, kind record.Kind, id, patientID string, version int) *record.AuditEvent {
	return &record.AuditEvent{At: s.p.now().UTC(), User: s.user.Name, Login: s.login, Role: s.user.Role, Action: action,
		Kind: kind, EntityID: id, PatientID: patientID, Version: version, Source: s.p.source}
}

// stamp sets who recorded a record and when.
func (s *Service) stamp(m *record.Meta) {
	m.RecordedAt = s.p.now().UTC().Truncate(time.Millisecond)
	m.RecordedBy = s.user.Name
}

// write validates and writes records with one audit event each, in one transaction.
func (s *Service) write(ctx context.Context, action string, es ...record.Entity) error {
	for _, e := range es {
		s.stamp(e.Head())
		if err := e.Validate(); err != nil {
			return err
		}
		if err := s.checkCodes(e); err != nil {
			return err
		}
	}
	var pats []*record.Patient
	err := s.store().Update(ctx, func(tx store.WTx) error {
		for _, e := range es {
			if err := s.checkWrite(tx, e); err != nil {
				return err
			}
			if err := tx.Put(e); err != nil {
				return err
			}
			m := e.Head()
			pid := m.PatientID
			if pt, ok := e.(*record.Patient); ok {
				pid = pt.ID
				if err := tx.SetSearchRow(pt.ID, find.EncodePatientRow(findDoc(pt))); err != nil {
					return err
				}
				pats = append(pats, pt)
			}
			if err := tx.Append(s.event(action, e.Kind(), m.ID, pid, m.Version)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.afterCommit(func() {
		for _, pt := range pats {
			s.p.indexPut(pt)
		}
	})
	return nil
}

// audit writes one audit event on its own (reads, lists, finds, denials).
func (s *Service) audit(ctx context.Context, ev *record.AuditEvent) error {
	if s.unit != nil && ev.Outcome != "" && ev.Outcome != "ok" {
		// A refusal inside a unit of work is audited even when the unit is
		// rolled back (as it will be: the refusal fails it).
		s.unit.side = append(s.unit.side, ev)
		return nil
	}
	if a, ok := s.store().(store.AuditAppender); ok {
		return a.AppendAudit(ctx, ev) // a server's: committed with others'
	}
	return s.store().Update(ctx, func(tx store.WTx) error { return tx.Append(ev) })
}

var errStop = errors.New("stop")

// PracticeRecord reads the practice record (nil if it cannot be read).
func (p *Practice) PracticeRecord(ctx context.Context) *record.Practice {
	var pr *record.Practice
	_ = p.st.View(ctx, func(tx store.Tx) error { pr, _ = tx.Practice(); return nil })
	return pr
}
