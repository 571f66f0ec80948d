package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The schema's migrations, NNNN_name.sql, applied in order, each in its
// own transaction with its row in schema_migrations.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one step of the schema.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations are the schema's steps, oldest first.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "migrations/"), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s: not NNNN_name.sql", n)
		}
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations: version %d where %d was expected", m.Version, i+1)
		}
	}
	return out, nil
}

// SchemaVersion is the schema this build writes.
func SchemaVersion() int {
	ms, _ := Migrations()
	return len(ms)
}

// schemaLock is the advisory lock key replicas starting together take, so
// one migrates and the others find it done.
const schemaLock = 0x67_70_73_6f_63 // "gpsoc"

// migrate brings the database's schema up to this build's, as the URL's
// own user (the schema's owner), before any connection acts as AppRole.
func migrate(ctx context.Context, cfg *pgx.ConnConfig, where string) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", where, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", schemaLock); err != nil {
		return fmt.Errorf("lock the schema of %s: %w", where, err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", schemaLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("schema_migrations on %s: %w", where, err)
	}
	var have int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&have); err != nil {
		return err
	}
	if have > len(ms) {
		return fmt.Errorf("database %s has schema %d; this gpsoc understands up to %d: upgrade gpsoc", where, have, len(ms))
	}
	for _, m := range ms[have:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s to schema %d (%s): %w", where, m.Version, m.Name, err)
		}
	}
	// The URL's user acts as AppRole on every pooled connection; a
	// superuser already may, anyone else needs the membership.
	var member bool
	if err := conn.QueryRow(ctx, "SELECT pg_has_role(current_user, $1, 'MEMBER')", AppRole).Scan(&member); err != nil {
		return err
	}
	if !member {
		if _, err := conn.Exec(ctx, "GRANT "+AppRole+" TO CURRENT_USER"); err != nil {
			return fmt.Errorf("on %s, %s may not act as %s: GRANT %s TO %s (as the database's owner or a superuser): %w",
				where, cfg.User, AppRole, AppRole, cfg.User, err)
		}
	}
	return nil
}
