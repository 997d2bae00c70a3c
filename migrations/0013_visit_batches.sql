-- A batch of site visits in one statement (see checkin::batch): with no
-- idempotency keys in the batch it is its own transaction, one round trip
-- to the database for the whole batch.
--
-- Each (site, phone) of the batch is locked, in a fixed order, as a
-- count-in written alone locks it (checkin::repo::recent_visit); then, in a
-- statement of its own and so with a snapshot taken after the locks, each
-- visit whose phone was counted at the site within the last
-- repeat_minutes is answered with that count-in, and the others are stored.
-- The caller sends each phone once per batch.
--
-- Returns the earlier count-in of each visit that was not stored, by the
-- visit's place in the arrays (from 1).
CREATE FUNCTION write_visits(
    v_ids uuid[], v_places bigint[], v_parties integer[], v_countries text[],
    v_provinces integer[], v_devices bytea[],
    v_at timestamptz, v_date date, v_hour smallint, repeat_minutes integer)
RETURNS TABLE (n integer, earlier_id uuid, earlier_at timestamptz, earlier_party integer)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(h)
    FROM (SELECT DISTINCT hashtextextended(encode(d, 'hex'), p) AS h
          FROM unnest(v_places, v_devices) AS t(p, d)
          WHERE d IS NOT NULL
          ORDER BY h) AS locks;
    RETURN QUERY
    WITH batch AS (
        SELECT * FROM unnest(v_ids, v_places, v_parties, v_countries, v_provinces, v_devices)
            WITH ORDINALITY AS b(id, place_id, party_size, country, province, device, n)
    ), earlier AS (
        SELECT b.n, e.id, e.visited_at, e.party_size
        FROM batch b CROSS JOIN LATERAL (
            SELECT v.id, v.visited_at, v.party_size FROM visits v
            WHERE v.place_id = b.place_id AND v.device_hash = b.device
              AND v.visited_at > now() - make_interval(mins => repeat_minutes)
            ORDER BY v.visited_at DESC
            LIMIT 1
        ) AS e
        WHERE b.device IS NOT NULL
    ), stored AS (
        INSERT INTO visits (id, place_id, visited_at, visit_date, visit_hour, party_size,
                            origin_country, origin_province_id, device_hash)
        SELECT b.id, b.place_id, v_at, v_date, v_hour, b.party_size, b.country, b.province, b.device
        FROM batch b
        WHERE NOT EXISTS (SELECT FROM earlier e WHERE e.n = b.n)
    )
    SELECT e.n::integer, e.id, e.visited_at, e.party_size FROM earlier e;
END
$$;
