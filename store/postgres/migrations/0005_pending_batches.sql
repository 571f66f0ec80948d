-- Schema 5: pending audit events kept a batch a row, and placed without
-- walking what earlier placings deleted.
--
-- Measured on make bench's reads (two replicas, 16 clients): gpsoc_place
-- cost about 25 µs of the database's CPU an event, half of it in its
-- DELETE, which found the practice's pending rows by walking every row
-- deleted since the table was last vacuumed (autovacuum comes once a
-- minute at most; a busy practice deletes thousands of rows a second).
--
-- 1. A server's batch of read-audit events is one row (mids, in order)
--    rather than one row an event: one heap tuple and one index entry to
--    insert, and to delete, per commit. Rows of one event (mid), as schema
--    3 wrote them, are still placed (a replica not yet upgraded).
-- 2. Each row carries the transaction that inserted it (xact, given by the
--    database: the store's role may not set it), and the practice's row
--    the oldest transaction that could still add pending events unseen
--    (pending_xmin): the xmin of a snapshot taken by a placing before its
--    DELETE. Every transaction older than that xmin had ended before the
--    DELETE's snapshot was taken, so its rows were visible to the DELETE
--    and went into the chain with it; the next placing need only look at
--    xact >= pending_xmin, which the index (practice, xact, id) finds
--    without the deleted rows before it. An event is still in exactly one
--    of audit_pending and audit, placed in the order of its row's id, the
--    order in which the rows were committed here (as near as the database
--    can tell), and within a row in the batch's order.

ALTER TABLE audit_pending ALTER COLUMN mid DROP NOT NULL;
ALTER TABLE audit_pending ADD COLUMN mids text[];
ALTER TABLE audit_pending ADD COLUMN xact xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE audit_pending ADD CONSTRAINT audit_pending_one_form
	CHECK ((mid IS NULL) <> (mids IS NULL) AND (mids IS NULL OR cardinality(mids) > 0));
ALTER TABLE audit_pending DROP CONSTRAINT audit_pending_pkey;
ALTER TABLE audit_pending ADD PRIMARY KEY (practice, xact, id);
-- The store's role names the practice and the events, nothing else: not
-- the transaction (an older one would hide the row below pending_xmin),
-- nor the id (the order).
REVOKE INSERT ON audit_pending FROM gpsoc_app;
-- A batch's row is kept whole in its page, not compressed (a batch of
-- eight reads' events is past the default 2 kB at which PostgreSQL would
-- compress it on insert and expand it again to place it).
ALTER TABLE audit_pending SET (toast_tuple_target = 8160);
GRANT INSERT (practice, mid, mids) ON audit_pending TO gpsoc_app;

ALTER TABLE practices ADD COLUMN pending_xmin xid8 NOT NULL DEFAULT '0';
-- Only gpsoc_place sets it: a later one would leave events pending, unplaced.
REVOKE INSERT, UPDATE ON practices FROM gpsoc_app;
GRANT INSERT (practice, doc, change_seq, audit_seq, audit_hash, terminology),
	UPDATE (doc, change_seq, audit_seq, audit_hash, terminology) ON practices TO gpsoc_app;

-- gpsoc_place as in schema 3, with the pending events found as above.
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
	-- The rows from the arrays side by side (unnest), not by subscript: an
	-- element of an array of text is found by walking the ones before it.
	IF n > 0 THEN
		INSERT INTO audit (practice, seq, hash, body)
			SELECT p, s0 + u.i, u.h, convert_to('{"seq":' || (s0 + u.i) || u.m || ',"prevHash":"' || u.ph || '","hash":""}', 'UTF8')
			FROM unnest(alls, hs, prev0 || hs[1 : n - 1]) WITH ORDINALITY AS u(m, h, ph, i);
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
