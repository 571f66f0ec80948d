-- Schema 3: audit events made durable before their place in the chain.
--
-- A practice's chain is placed under its row's lock, which PostgreSQL holds
-- until the commit is flushed to disk: every transaction that places events
-- waits for the one before it to reach the disk. The events of reads
-- (record opened, list, find, refusal) need to be durable before the
-- response, not placed: a server commits them here, in batches, under no
-- lock, so the commits of every replica share the disk's flushes; the next
-- transaction that places anything for the practice (a write, or the
-- replica's own placing within a fraction of a second) moves them into the
-- chain first, in the order they were committed here, and deletes them here
-- in the same transaction. An event is thus always in exactly one of the
-- two tables.
--
-- mid is the event's JSON between its sequence and its chain link, as for
-- gpsoc_place.
CREATE TABLE audit_pending (
	practice text NOT NULL,
	id       bigint GENERATED ALWAYS AS IDENTITY,
	mid      text NOT NULL,
	PRIMARY KEY (practice, id)
);
-- No foreign key to practices: its check would lock the practice's row, the
-- row every placing updates. gpsoc_place refuses a practice with no row.
ALTER TABLE audit_pending ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_pending FORCE ROW LEVEL SECURITY;
CREATE POLICY practice_only ON audit_pending
	USING (practice = current_setting('app.practice', true))
	WITH CHECK (practice = current_setting('app.practice', true));
-- The store's role adds events and may read them; it cannot delete them.
-- Only gpsoc_place (below) takes them out, and only into the chain.
GRANT SELECT, INSERT ON audit_pending TO gpsoc_app;

-- gpsoc_place as in schema 2, placing the practice's pending events first.
-- It runs as its owner (SECURITY DEFINER) so that it may delete what it
-- placed while the store's role may not; it acts only for the practice the
-- caller's transaction is set to, so row-level security's rule still holds.
CREATE OR REPLACE FUNCTION gpsoc_place(p text, mids text[], changed text[],
	OUT first_seq bigint, OUT prev_hash text, OUT hashes text[], OUT first_change bigint, OUT last_change bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
	s bigint;
	s0 bigint;
	prev text;
	prev0 text;
	cs bigint;
	pend text[];
	alls text[];
	np int;
	n int;
	hs text[];
BEGIN
	IF p IS DISTINCT FROM current_setting('app.practice', true) THEN
		RAISE EXCEPTION 'gpsoc_place: practice % is not the transaction''s (%)', p, current_setting('app.practice', true);
	END IF;
	SELECT pr.audit_seq, pr.audit_hash, pr.change_seq INTO s, prev, cs
		FROM practices pr WHERE pr.practice = p FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'practice % has no row', p;
	END IF;
	-- Under the lock, this statement's snapshot holds every pending event
	-- committed before it; later ones wait for the next placing.
	WITH d AS (DELETE FROM audit_pending WHERE practice = p RETURNING id, mid)
	SELECT coalesce(array_agg(mid ORDER BY id), '{}') INTO pend FROM d;
	np := coalesce(array_length(pend, 1), 0);
	alls := pend || coalesce(mids, '{}');
	n := coalesce(array_length(alls, 1), 0);
	s0 := s;
	prev0 := prev;
	-- The chain: each hash over the one before. hs is filled in place (an
	-- append would copy the array each time); the bodies are made again
	-- by the insert from the same parts.
	hs := array_fill(''::text, ARRAY[n]);
	FOR i IN 1 .. n LOOP
		prev := encode(sha256(convert_to(prev || E'\n' || '{"seq":' || (s0 + i) || alls[i] || ',"prevHash":"' || prev || '","hash":""}', 'UTF8')), 'hex');
		hs[i] := prev;
	END LOOP;
	s := s0 + n;
	first_seq := s0 + np + 1;
	prev_hash := CASE WHEN np = 0 THEN prev0 ELSE hs[np] END;
	hashes := coalesce(hs[np + 1 : n], '{}');
	-- One insert for the whole chain piece.
	IF n > 0 THEN
		INSERT INTO audit (practice, seq, hash, body)
			SELECT p, s0 + i, hs[i], convert_to('{"seq":' || (s0 + i) || alls[i] || ',"prevHash":"' ||
				CASE WHEN i = 1 THEN prev0 ELSE hs[i - 1] END || '","hash":""}', 'UTF8')
			FROM generate_series(1, n) AS i;
	END IF;
	first_change := cs + 1;
	IF coalesce(array_length(changed, 1), 0) > 0 THEN
		INSERT INTO changes (practice, seq, patient_id)
			SELECT p, cs + u.n, u.id FROM unnest(changed) WITH ORDINALITY AS u(id, n);
		cs := cs + array_length(changed, 1);
	END IF;
	last_change := cs;
	IF n > 0 OR cs >= first_change THEN
		UPDATE practices SET audit_seq = s, audit_hash = prev, change_seq = cs WHERE practice = p;
	END IF;
END
$$;
REVOKE ALL ON FUNCTION gpsoc_place(text, text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gpsoc_place(text, text[], text[]) TO gpsoc_app;
