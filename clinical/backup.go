package clinical

import (
	"context"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// fileKeeper is the store as a file that can be backed up and restored, or
// a usage error (remote mode: the server's file is backed up on the server).
func (s *Service) fileKeeper(field, value string) (store.FileKeeper, error) {
	fk, ok := s.p.st.(store.FileKeeper)
	if !ok {
		return nil, record.Invalid(field, value, "this practice is not a file on this machine (remote mode): back it up and restore it on the server")
	}
	return fk, nil
}

// Backup writes a hot, consistent copy of the practice file to path (the
// bulk right: admins and GPs). Audited: a refusal (as every denial), the
// backup itself (in the copy too, as it is written first), and a failure.
func (s *Service) Backup(ctx context.Context, path string) (int64, error) {
	if err := s.require(ctx, ActBulk, ""); err != nil {
		return 0, err
	}
	fk, err := s.fileKeeper("backup", path)
	if err != nil {
		return 0, err
	}
	ev := s.event("backup", "practice", s.practice.ODS, "", 0)
	ev.Reason = path
	if err := s.audit(ctx, ev); err != nil {
		return 0, err
	}
	n, err := fk.BackupFile(path)
	if err != nil {
		s.auditFailure(ctx, "backup", path, err)
		return 0, err
	}
	return n, nil
}

// Restore replaces the practice with the backup src (the bulk right), after
// backing up what is there, whose name it returns. The restore is audited
// in the practice it replaces (so that practice's backup holds it), a
// refusal and a failure too. The services' store is closed afterwards: the
// caller opens the restored practice afresh.
func (s *Service) Restore(ctx context.Context, src string) (string, error) {
	if err := s.require(ctx, ActBulk, ""); err != nil {
		return "", err
	}
	fk, err := s.fileKeeper("restore", src)
	if err != nil {
		return "", err
	}
	ev := s.event("restore", "practice", s.practice.ODS, "", 0)
	ev.Reason = src
	if err := s.audit(ctx, ev); err != nil {
		return "", err
	}
	old, err := fk.RestoreFrom(src)
	if err != nil && old == "" {
		s.auditFailure(ctx, "restore", src, err) // the store may be closed: best effort
	}
	return old, err
}

func (s *Service) auditFailure(ctx context.Context, action, what string, err error) {
	ev := s.event(action, "practice", s.practice.ODS, "", 0)
	ev.Outcome, ev.Reason = "failed", what+": "+err.Error()
	_ = s.audit(context.WithoutCancel(ctx), ev)
}

// CodeSet is a set of codes (an ECL expression compiled by the terminology).
type CodeSet interface {
	Contains(system, code string) bool
}

// PatientsWithProblemIn is a population search: the patients with an active
// problem in set (expr is its text, for the audit event). It needs the
// search right (a receptionist or an admin is refused, and the refusal
// audited); the search is audited with its query.
func (s *Service) PatientsWithProblemIn(ctx context.Context, set CodeSet, expr string) (map[string]bool, error) {
	if err := s.require(ctx, ActSearch, ""); err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	err := s.store().View(ctx, func(tx store.Tx) error {
		return tx.ForEach(record.KindProblem, func(e record.Entity) error {
			p := e.(*record.Problem)
			if p.Status == "active" && set.Contains(p.Code.System, p.Code.Code) {
				ids[p.PatientID] = true
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	ev := s.event("search", record.KindPatient, "", "", 0)
	ev.Query = "problem-ecl " + expr
	return ids, s.audit(ctx, ev)
}
