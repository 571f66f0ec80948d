-- Schema 6: the events a placing puts in the chain kept as one row, a
-- run, rather than a row each.
--
-- Measured on make bench's reads (two replicas, 16 clients, interleaved
-- runs in one process): placing read-audit events in the chain cost about
-- 15% of the reads' throughput, most of it in inserting each event as a
-- row of its own (its tuple, its index entry, its WAL record, its row
-- checks), a few hundred at a placing. A run is one row however many
-- events it holds: the placing is about half as dear, and an event takes
-- less room (its body is not stored with the previous event's hash in it).
--
-- An event in a run is what it was as a row: its seq is the run's first
-- plus its place in the run, its hash is hashes[k], and its body, the
-- bytes its hash covers, is rebuilt as gpsoc_place always built it:
--   {"seq":SEQ MID,"prevHash":"PREV","hash":""}
-- with PREV the hash before it (prev_hash for the first). Runs follow one
-- another without a gap (gpsoc_place numbers each from the practice's
-- audit_seq, under its lock); rows of audit (schema 5's events, and a
-- trail copied in by gpsoc migrate, which may have gaps) come before them.
-- gpsoc_audit reads both as one trail, in order.
CREATE TABLE audit_runs (
	practice  text NOT NULL REFERENCES practices,
	seq       bigint NOT NULL CHECK (seq > 0),
	last_seq  bigint NOT NULL,
	prev_hash text NOT NULL,
	hashes    text[] NOT NULL,
	mids      text[] NOT NULL,
	PRIMARY KEY (practice, seq),
	CHECK (cardinality(hashes) > 0 AND cardinality(mids) = cardinality(hashes)
		AND last_seq = seq + cardinality(hashes) - 1)
);

-- A run's events are compressed with lz4 where the server has it (most
-- builds of PostgreSQL 14 and later): in interleaved runs the reads went
-- about as fast as with the runs stored plain, and about 5% faster than
-- with the default (pglz). Elsewhere the default is kept.
DO $$
BEGIN
	ALTER TABLE audit_runs ALTER COLUMN mids SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
	NULL;
END
$$;

-- The same row-level security as every other table. Only gpsoc_place
-- writes runs: the store's role may read them, not add, change or delete
-- one (a superuser's edit is found by gpsoc audit verify).
ALTER TABLE audit_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY practice_only ON audit_runs
	USING (practice = current_setting('app.practice', true))
	WITH CHECK (practice = current_setting('app.practice', true));
GRANT SELECT ON audit_runs TO gpsoc_app;

-- The practice's trail after event number after, at most lim events, in
-- order: its rows of audit, then its runs' events. Runs have no gaps, so
-- the lim events after a point are among the runs from the one holding
-- the point (or the first run) to lim events on; rows of audit are read by
-- their index as before. Run as the caller (row-level security holds).
CREATE FUNCTION gpsoc_audit(p text, after bigint, lim int)
RETURNS TABLE (seq bigint, hash text, body bytea)
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
	WITH first AS (
		SELECT coalesce(
			(SELECT max(r.seq) FROM audit_runs r WHERE r.practice = p AND r.seq <= after + 1),
			(SELECT min(r.seq) FROM audit_runs r WHERE r.practice = p)) AS seq
	)
	SELECT e.seq, e.hash, e.body FROM (
		(SELECT a.seq, a.hash, a.body FROM audit a
			WHERE a.practice = p AND a.seq > after ORDER BY a.seq LIMIT lim)
		UNION ALL
		(SELECT r.seq + u.i - 1, u.h,
				convert_to('{"seq":' || (r.seq + u.i - 1) || u.m || ',"prevHash":"' || u.ph || '","hash":""}', 'UTF8')
			FROM first, audit_runs r,
				unnest(r.mids, r.hashes, r.prev_hash || r.hashes[1 : cardinality(r.hashes) - 1]) WITH ORDINALITY AS u(m, h, ph, i)
			WHERE r.practice = p AND r.seq >= first.seq AND r.seq <= greatest(after, first.seq - 1) + lim
				AND r.seq + u.i - 1 > after
			ORDER BY 1 LIMIT lim)
	) e ORDER BY e.seq LIMIT lim
$$;
GRANT EXECUTE ON FUNCTION gpsoc_audit(text, bigint, int) TO gpsoc_app;

-- gpsoc_place as in schema 5, writing a run.
CREATE OR REPLACE FUNCTION gpsoc_place(p text, mids text[], changed text[],
	OUT first_seq bigint, OUT prev_hash text, OUT hashes text[], OUT first_change bigint, OUT last_change bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
	s bigint;
	s0 bigint;
	prev text;
	prev0 text;
	cs bigint;
	floor0 xid8;
	floor1 xid8;
	pend text[];
	alls text[];
	np int;
	n int;
	hs text[];
BEGIN
	IF p IS DISTINCT FROM current_setting('app.practice', true) THEN
		RAISE EXCEPTION 'gpsoc_place: practice % is not the transaction''s (%)', p, current_setting('app.practice', true);
	END IF;
	SELECT pr.audit_seq, pr.audit_hash, pr.change_seq, pr.pending_xmin INTO s, prev, cs, floor0
		FROM practices pr WHERE pr.practice = p FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'practice % has no row', p;
	END IF;
	-- Under the lock: every transaction older than floor1 has ended, so
	-- the DELETE's snapshot (taken after this one) holds all its rows.
	floor1 := greatest(floor0, pg_snapshot_xmin(pg_current_snapshot()));
	WITH d AS (DELETE FROM audit_pending ap WHERE ap.practice = p AND ap.xact >= floor0 RETURNING ap.id, ap.mid, ap.mids)
	SELECT coalesce(array_agg(u.m ORDER BY d.id, u.k), '{}') INTO pend
		FROM d, unnest(coalesce(d.mids, ARRAY[d.mid])) WITH ORDINALITY AS u(m, k);
	np := coalesce(array_length(pend, 1), 0);
	alls := pend || coalesce(mids, '{}');
	n := coalesce(array_length(alls, 1), 0);
	s0 := s;
	prev0 := prev;
	hs := array_fill(''::text, ARRAY[n]);
	FOR i IN 1 .. n LOOP
		prev := encode(sha256(convert_to(prev || E'\n' || '{"seq":' || (s0 + i) || alls[i] || ',"prevHash":"' || prev || '","hash":""}', 'UTF8')), 'hex');
		hs[i] := prev;
	END LOOP;
	s := s0 + n;
	first_seq := s0 + np + 1;
	prev_hash := CASE WHEN np = 0 THEN prev0 ELSE hs[np] END;
	hashes := coalesce(hs[np + 1 : n], '{}');
	-- One row, the run, for the n events (gpsoc_audit reads it back as
	-- events, each body as the hash above covers it).
	IF n > 0 THEN
		INSERT INTO audit_runs (practice, seq, last_seq, prev_hash, hashes, mids)
			VALUES (p, s0 + 1, s0 + n, prev0, hs, alls);
	END IF;
	first_change := cs + 1;
	IF coalesce(array_length(changed, 1), 0) > 0 THEN
		INSERT INTO changes (practice, seq, patient_id)
			SELECT p, cs + u.n, u.id FROM unnest(changed) WITH ORDINALITY AS u(id, n);
		cs := cs + array_length(changed, 1);
	END IF;
	last_change := cs;
	IF n > 0 OR cs >= first_change THEN
		UPDATE practices SET audit_seq = s, audit_hash = prev, change_seq = cs, pending_xmin = floor1 WHERE practice = p;
	END IF;
END
$$;
