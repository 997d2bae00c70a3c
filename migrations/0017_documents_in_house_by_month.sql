-- The document check of 0014 looked each document up in every month of
-- guest_identities: one index probe per partition, and so per month kept.
-- With three years kept (RETENTION_DAYS), every document of every check-in
-- was looked up in some forty indexes, nearly all of guests long gone.
--
-- A guest in house at a place arrived no earlier than the earliest arrival
-- of that place's guests in house, and a guest's id is made when the guest
-- is recorded (UUIDv7, see 0009), never before the arrival: a visitor's
-- check-in is recorded as it arrives, and the desk takes no arrival later
-- than five minutes from now. So the look-up starts at the lowest id of
-- the day (UTC) before the earliest such arrival (arrival dates are local),
-- and PostgreSQL leaves out every month partition before it when the
-- statement starts. The default partition (ids of another kind, or of a
-- month not made in time) is always looked in. What the function returns
-- is unchanged.
CREATE OR REPLACE FUNCTION documents_in_house(
    lock_places bigint[], lock_indexes bytea[], ns integer[], places bigint[], docs bytea[])
RETURNS TABLE (n integer, room text)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET jit = off
SET enable_seqscan = off
AS $$
DECLARE
    earliest date;
    since uuid;
BEGIN
    PERFORM pg_advisory_xact_lock(h)
    FROM (SELECT DISTINCT hashtextextended(encode(d, 'hex'), p) AS h
          FROM unnest(lock_places, lock_indexes) AS t(p, d)
          ORDER BY h) AS locks;
    -- The earliest arrival of the places' guests in house: one probe of
    -- guests_in_house_stats_idx for each place. None in house: nothing to
    -- find, and no month is looked in.
    SELECT min(first.arrival_date) INTO earliest
    FROM (SELECT DISTINCT p FROM unnest(places) AS p) AS p
    CROSS JOIN LATERAL (SELECT g.arrival_date FROM guests g
                        WHERE g.place_id = p.p AND g.departed_at IS NULL
                        ORDER BY g.arrival_date LIMIT 1) AS first;
    IF earliest IS NULL THEN
        RETURN;
    END IF;
    -- The lowest UUIDv7 of that day's first millisecond (of the Unix
    -- epoch's at the earliest, where UUIDv7 time begins).
    since := (lpad(to_hex((greatest(earliest - 1, date '1970-01-01') - date '1970-01-01')::bigint
                          * 86400000), 12, '0')
              || '00000000000000000000')::uuid;
    RETURN QUERY
    SELECT DISTINCT ON (t.n) t.n, COALESCE(s.room, '')
    FROM unnest(ns, places, docs) AS t(n, place_id, doc)
    CROSS JOIN LATERAL (SELECT gi.guest_id FROM guest_identities gi
                        WHERE gi.document_index = t.doc AND gi.guest_id >= since OFFSET 0) AS gi
    CROSS JOIN LATERAL (SELECT g.stay_id, g.place_id, g.departed_at FROM guests g
                        WHERE g.id = gi.guest_id OFFSET 0) AS g
    JOIN stays s ON s.id = g.stay_id AND s.status = 'active'
    WHERE g.place_id = t.place_id AND g.departed_at IS NULL
    ORDER BY t.n;
END
$$;
