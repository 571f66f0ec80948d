-- Schema 1: many practices in one database, each row naming its practice,
-- and row-level security so that a connection sees only the practice it
-- set for its transaction (app.practice), whatever the query asks.
--
-- The records are kept as their canonical JSON (bytea, byte for byte what
-- was hashed into the audit trail), with the columns the lookups need.

DO $$
BEGIN
	CREATE ROLE gpsoc_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object THEN
	NULL; -- made by another database of the cluster, or by the DBA
END
$$;

-- One row a practice: its record (NULL until init), its change and audit
-- sequences and the audit head (both assigned under this row's lock), and
-- the terminology release it is pinned to.
CREATE TABLE practices (
	practice    text PRIMARY KEY CHECK (practice <> ''),
	doc         bytea,
	change_seq  bigint NOT NULL DEFAULT 0,
	audit_seq   bigint NOT NULL DEFAULT 0,
	audit_hash  text NOT NULL DEFAULT '',
	terminology text NOT NULL DEFAULT ''
);

-- User names are unique per practice.
CREATE TABLE users (
	practice text NOT NULL REFERENCES practices,
	name     text NOT NULL,
	doc      bytea NOT NULL,
	PRIMARY KEY (practice, name)
);

-- A token's hash is a SHA-256 of a long random secret: unique everywhere.
CREATE TABLE tokens (
	hash      text PRIMARY KEY,
	practice  text NOT NULL REFERENCES practices,
	user_name text NOT NULL,
	doc       bytea NOT NULL
);
CREATE INDEX tokens_user ON tokens (practice, user_name);

-- The current version of every record; seq orders a patient's records as
-- they were created.
CREATE TABLE records (
	practice   text NOT NULL REFERENCES practices,
	kind       text NOT NULL,
	id         text NOT NULL,
	seq        bigint GENERATED ALWAYS AS IDENTITY,
	version    integer NOT NULL,
	patient_id text,
	nhs        text,
	appt_start timestamptz,
	doc        bytea NOT NULL,
	PRIMARY KEY (practice, kind, id)
);
-- One NHS number, one patient (per practice): the database enforces it.
CREATE UNIQUE INDEX records_nhs ON records (practice, nhs) WHERE nhs IS NOT NULL;
CREATE INDEX records_patient ON records (practice, patient_id, kind, seq) WHERE patient_id IS NOT NULL;
CREATE INDEX records_appt ON records (practice, appt_start) WHERE appt_start IS NOT NULL;

-- Superseded versions: nothing clinical is overwritten.
CREATE TABLE record_versions (
	practice text NOT NULL REFERENCES practices,
	kind     text NOT NULL,
	id       text NOT NULL,
	version  integer NOT NULL,
	doc      bytea NOT NULL,
	PRIMARY KEY (practice, kind, id, version)
);

CREATE TABLE record_counts (
	practice text NOT NULL REFERENCES practices,
	kind     text NOT NULL,
	n        bigint NOT NULL,
	PRIMARY KEY (practice, kind)
);

-- The compact find row of each patient.
CREATE TABLE search_rows (
	practice   text NOT NULL REFERENCES practices,
	patient_id text NOT NULL,
	row        bytea NOT NULL,
	PRIMARY KEY (practice, patient_id)
);

-- The change feed: a patient changed at a sequence.
CREATE TABLE changes (
	practice   text NOT NULL REFERENCES practices,
	seq        bigint NOT NULL,
	patient_id text NOT NULL,
	PRIMARY KEY (practice, seq)
);

-- The hash-chained audit trail: body is the event's JSON without its hash.
CREATE TABLE audit (
	practice text NOT NULL REFERENCES practices,
	seq      bigint NOT NULL,
	hash     text NOT NULL,
	body     bytea NOT NULL,
	PRIMARY KEY (practice, seq)
);

-- Row-level security on every table: FORCE makes it hold for the tables'
-- owner too; only a superuser or a BYPASSRLS role escapes it, and the
-- store's connections act as gpsoc_app, which is neither.
-- What gpsoc_app may do is what the store does: superseded versions, the
-- change feed and the audit trail are only ever added to, so the role has
-- no UPDATE or DELETE on them (nor DELETE anywhere but tokens).
DO $$
DECLARE
	t text;
	g text[];
BEGIN
	FOREACH g SLICE 1 IN ARRAY ARRAY[
		['practices', 'SELECT, INSERT, UPDATE'], ['users', 'SELECT, INSERT, UPDATE'],
		['records', 'SELECT, INSERT, UPDATE'], ['record_counts', 'SELECT, INSERT, UPDATE'],
		['search_rows', 'SELECT, INSERT, UPDATE'], ['record_versions', 'SELECT, INSERT'],
		['changes', 'SELECT, INSERT'], ['audit', 'SELECT, INSERT']] LOOP
		t := g[1];
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format($p$CREATE POLICY practice_only ON %I
			USING (practice = current_setting('app.practice', true))
			WITH CHECK (practice = current_setting('app.practice', true))$p$, t);
		EXECUTE format('GRANT %s ON %I TO gpsoc_app', g[2], t);
	END LOOP;
END
$$;

-- A token is also readable by whoever presents its hash (app.token): how a
-- server finds which practice a request's token belongs to before it acts
-- for that practice. The hash is of a secret only its holder knows.
ALTER TABLE tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY practice_only ON tokens
	USING (practice = current_setting('app.practice', true) OR hash = current_setting('app.token', true))
	WITH CHECK (practice = current_setting('app.practice', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON tokens TO gpsoc_app;
