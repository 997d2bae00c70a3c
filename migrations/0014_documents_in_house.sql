-- Which documents of a check-in are in house at their place already, in
-- one round trip (see checkin::repo::documents_in_house).
--
-- Each (place, document) is first locked until the commit, in a fixed
-- order, so that two check-ins of one document at one place (two batches,
-- or a batch and the desk) take turns at this check instead of both
-- passing it. Then, in a statement of its own and so with a snapshot taken
-- after the locks, each document is looked up by its blind index under
-- every configured key, then its guest by key, so a busy place's guests in
-- house are never scanned; the OFFSET 0 fences keep that order whatever the
-- planner believes of tables that grew since they were last analysed.
--
-- lock_places and lock_indexes: each document under the current key;
-- ns, places and docs: each document under every key, with the caller's
-- number for it. Returns each number found once, with the room of its stay
-- ('' when none).
CREATE FUNCTION documents_in_house(
    lock_places bigint[], lock_indexes bytea[], ns integer[], places bigint[], docs bytea[])
RETURNS TABLE (n integer, room text)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET jit = off
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(h)
    FROM (SELECT DISTINCT hashtextextended(encode(d, 'hex'), p) AS h
          FROM unnest(lock_places, lock_indexes) AS t(p, d)
          ORDER BY h) AS locks;
    RETURN QUERY
    SELECT DISTINCT ON (t.n) t.n, COALESCE(s.room, '')
    FROM unnest(ns, places, docs) AS t(n, place_id, doc)
    CROSS JOIN LATERAL (SELECT gi.guest_id FROM guest_identities gi
                        WHERE gi.document_index = t.doc OFFSET 0) AS gi
    CROSS JOIN LATERAL (SELECT g.stay_id, g.place_id, g.departed_at FROM guests g
                        WHERE g.id = gi.guest_id OFFSET 0) AS g
    JOIN stays s ON s.id = g.stay_id AND s.status = 'active'
    WHERE g.place_id = t.place_id AND g.departed_at IS NULL
    ORDER BY t.n;
END
$$;
