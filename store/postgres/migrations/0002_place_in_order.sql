-- Schema 2: a transaction's audit events and change entries are placed in
-- the practice's sequences by the database, in the round trip that
-- commits them: the practice's lock is then held for that round trip's
-- execution and the commit, not for a round trip to the client and back.
--
-- mids are the events' JSON between the sequence and the chain link (as
-- store.AppendAuditJSON writes it: {"seq":N<mid>,"prevHash":"…","hash":""});
-- each event's hash is SHA-256 of the previous hash, a newline and its
-- JSON, exactly as the store computes it. It runs as the caller, so the
-- practice's row-level security holds inside it too.
CREATE FUNCTION gpsoc_place(p text, mids text[], changed text[],
	OUT first_seq bigint, OUT prev_hash text, OUT hashes text[], OUT first_change bigint, OUT last_change bigint)
LANGUAGE plpgsql AS $$
DECLARE
	s bigint;
	prev text;
	body text;
	h text;
	cs bigint;
BEGIN
	SELECT pr.audit_seq, pr.audit_hash, pr.change_seq INTO s, prev, cs
		FROM practices pr WHERE pr.practice = p FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'practice % has no row', p;
	END IF;
	first_seq := s + 1;
	prev_hash := prev;
	hashes := '{}';
	FOR i IN 1 .. coalesce(array_length(mids, 1), 0) LOOP
		s := s + 1;
		body := '{"seq":' || s || mids[i] || ',"prevHash":"' || prev || '","hash":""}';
		h := encode(sha256(convert_to(prev || E'\n' || body, 'UTF8')), 'hex');
		INSERT INTO audit (practice, seq, hash, body) VALUES (p, s, h, convert_to(body, 'UTF8'));
		hashes := hashes || h;
		prev := h;
	END LOOP;
	first_change := cs + 1;
	IF coalesce(array_length(changed, 1), 0) > 0 THEN
		INSERT INTO changes (practice, seq, patient_id)
			SELECT p, cs + u.n, u.id FROM unnest(changed) WITH ORDINALITY AS u(id, n);
		cs := cs + array_length(changed, 1);
	END IF;
	last_change := cs;
	UPDATE practices SET audit_seq = s, audit_hash = prev, change_seq = cs WHERE practice = p;
END
$$;
