-- Schema 4: an audit trail imported with a practice from another system,
-- kept apart from the practice's own chain (store.ImportedTrail): each
-- event as the other system recorded it, with its source and what its own
-- chain said when it was imported, as its JSON (record.ImportedAuditEvent,
-- byte for byte what a practice file keeps). seq is its order number in
-- the practice, given under the practice's lock; source finds the last
-- event kept from a system, which the next one from it must link to.
CREATE TABLE audit_imported (
	practice text NOT NULL REFERENCES practices,
	seq      bigint NOT NULL CHECK (seq > 0),
	source   text NOT NULL,
	doc      bytea NOT NULL,
	PRIMARY KEY (practice, seq)
);
CREATE INDEX audit_imported_source ON audit_imported (practice, source, seq);

-- The same row-level security as every other table; like the practice's
-- own trail it is only ever added to, so the store's role may not update
-- or delete it (a superuser's edit is found by gpsoc audit verify).
ALTER TABLE audit_imported ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_imported FORCE ROW LEVEL SECURITY;
CREATE POLICY practice_only ON audit_imported
	USING (practice = current_setting('app.practice', true))
	WITH CHECK (practice = current_setting('app.practice', true));
GRANT SELECT, INSERT ON audit_imported TO gpsoc_app;
