-- Idempotency keys taken inside the batch statements (see checkin::batch
-- and checkin::stay_batch): every batch of check-ins, keys or not, is one
-- statement and its own transaction. Each takes its keys first, then its
-- locks (phones or documents, in a fixed order), so two batches never wait
-- on each other in a cycle.
--
-- Both functions plan their statements once per connection (generic
-- plans), while idempotency_keys was perhaps a few rows; they forbid
-- sequential scans, which such a plan would otherwise keep as the table
-- grows to a day of keys (every table they read has the index they need).
-- So does documents_in_house, which the desk calls too: its plans are made
-- by whichever caller comes first on a connection.
--
-- A key is stored with the answer its request gets once stored (201), so
-- that no second write fills it in. A request that stores nothing keeps no
-- key, and its retry is a new request: a stay refused for a document in
-- house (corrected, it may be stored), and a count-in of a phone counted at
-- the site a moment before (answered again with that count-in while the
-- window lasts, counted after).

-- Take the keys given (a NULL key: a request without one), in a fixed
-- order. Returns the places in the arrays (from 1) of the keys taken. A key
-- used before is not taken, nor the same key again later in the arrays:
-- its request is answered on its own (the first answer again, or a
-- conflict). A key past its 24 hours counts as used here: the request
-- answered on its own frees it. (PL/pgSQL, whose plans are kept for the
-- session, where an SQL function's would be made at every call.)
CREATE FUNCTION take_keys(k_scopes text[], k_keys text[], k_hashes bytea[], k_answers jsonb[])
RETURNS integer[]
LANGUAGE plpgsql
AS $$
DECLARE
    taken integer[];
BEGIN
    WITH offered AS (
        SELECT DISTINCT ON (c.scope, c.key) c.scope, c.key, c.hash, c.answer, c.n
        FROM unnest(k_scopes, k_keys, k_hashes, k_answers) WITH ORDINALITY AS c(scope, key, hash, answer, n)
        WHERE c.key IS NOT NULL
        ORDER BY c.scope, c.key, c.n
    ), inserted AS (
        INSERT INTO idempotency_keys (scope, key, request_hash, status, response)
        SELECT o.scope, o.key, o.hash, 201, o.answer FROM offered o
        ORDER BY o.scope, o.key
        ON CONFLICT DO NOTHING
        RETURNING scope, key
    )
    SELECT COALESCE(array_agg(o.n::integer), '{}') INTO taken
    FROM offered o JOIN inserted i ON i.scope = o.scope AND i.key = o.key;
    RETURN taken;
END
$$;

DROP FUNCTION write_visits(uuid[], bigint[], integer[], text[], integer[], bytea[],
                           timestamptz, date, smallint, integer);

-- A batch of site visits, as 0013's write_visits, with the requests' keys:
-- the keys are taken first; then, of the visits whose key was taken (or
-- that have none), each phone is locked, the first visit of each phone is
-- looked up among the count-ins within the last repeat_minutes, and the
-- rest are stored. Returns, by the visit's place in the arrays (from 1),
-- each visit not stored: whose key was used before (alone), or whose phone
-- was counted before, at the site within the window or earlier in the batch
-- (with that count-in).
CREATE FUNCTION write_visits(
    v_ids uuid[], v_places bigint[], v_parties integer[], v_countries text[],
    v_provinces integer[], v_devices bytea[],
    k_scopes text[], k_keys text[], k_hashes bytea[], k_answers jsonb[],
    v_at timestamptz, v_date date, v_hour smallint, repeat_minutes integer)
RETURNS TABLE (n integer, alone boolean, earlier_id uuid, earlier_at timestamptz, earlier_party integer)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET jit = off
SET enable_seqscan = off
AS $$
#variable_conflict use_column
DECLARE
    keyed boolean := array_remove(k_keys, NULL) <> '{}';
    taken integer[] := '{}';
BEGIN
    IF keyed THEN
        taken := take_keys(k_scopes, k_keys, k_hashes, k_answers);
    END IF;
    PERFORM pg_advisory_xact_lock(h)
    FROM (SELECT DISTINCT hashtextextended(encode(d, 'hex'), p) AS h
          FROM unnest(v_places, v_devices, k_keys) WITH ORDINALITY AS t(p, d, k, i)
          WHERE d IS NOT NULL AND (k IS NULL OR i = ANY (taken))
          ORDER BY h) AS locks;
    RETURN QUERY
    WITH batch AS (
        SELECT * FROM unnest(v_ids, v_places, v_parties, v_countries, v_provinces, v_devices,
                             k_scopes, k_keys)
            WITH ORDINALITY AS b(id, place_id, party_size, country, province, device, scope, key, n)
        WHERE b.key IS NULL OR b.n = ANY (taken)
    ), firsts AS (
        SELECT DISTINCT ON (b.place_id, b.device) b.n, b.place_id, b.device
        FROM batch b
        WHERE b.device IS NOT NULL
        ORDER BY b.place_id, b.device, b.n
    ), earlier AS (
        SELECT f.n, e.id, e.visited_at, e.party_size
        FROM firsts f CROSS JOIN LATERAL (
            SELECT v.id, v.visited_at, v.party_size FROM visits v
            WHERE v.place_id = f.place_id AND v.device_hash = f.device
              AND v.visited_at > now() - make_interval(mins => repeat_minutes)
            ORDER BY v.visited_at DESC
            LIMIT 1
        ) AS e
    ), again AS (
        SELECT b.n, f.n AS first
        FROM batch b JOIN firsts f ON f.place_id = b.place_id AND f.device = b.device AND f.n <> b.n
    ), not_stored AS (
        SELECT e.n FROM earlier e UNION ALL SELECT a.n FROM again a
    ), given_back AS (
        DELETE FROM idempotency_keys k USING batch b
        WHERE keyed AND b.n IN (SELECT x.n FROM not_stored x)
          AND k.scope = b.scope AND k.key = b.key
    ), stored AS (
        INSERT INTO visits (id, place_id, visited_at, visit_date, visit_hour, party_size,
                            origin_country, origin_province_id, device_hash)
        SELECT b.id, b.place_id, v_at, v_date, v_hour, b.party_size, b.country, b.province, b.device
        FROM batch b
        WHERE b.n NOT IN (SELECT x.n FROM not_stored x)
    )
    SELECT e.n::integer, false, e.id, e.visited_at, e.party_size FROM earlier e
    UNION ALL
    SELECT a.n::integer, false, COALESCE(e.id, b.id), COALESCE(e.visited_at, v_at),
           COALESCE(e.party_size, b.party_size)
    FROM again a JOIN batch b ON b.n = a.first LEFT JOIN earlier e ON e.n = a.first
    UNION ALL
    SELECT k.n::integer, true, NULL, NULL, NULL
    FROM unnest(k_keys) WITH ORDINALITY AS k(key, n)
    WHERE k.key IS NOT NULL AND k.n <> ALL (taken);
END
$$;

DROP FUNCTION write_stays(bigint[], bytea[], integer[], bigint[], bytea[], timestamptz, date, text,
                          uuid[], bigint[], date[], text[], text[], bytea[],
                          uuid[], uuid[], bigint[], smallint[], text[], text[], text[], text[], text[],
                          text[], uuid[], timestamptz[],
                          text[], text[], date[], bytea[], bytea[], bytea[], bytea[], bytea[], date[], date[]);

-- A batch of stays, as 0015's write_stays, with the requests' keys (k_*,
-- aligned with the s_* arrays): the keys are taken first, and a stay whose
-- key was used before is not stored. The other stays' documents are then
-- looked up among the guests in house (documents_in_house) and, when two
-- stays of the batch bring one document to one place, among the stays
-- before them in the batch: the first of them that is stored keeps the
-- document, and a later one finds it in house, as if written after it (a
-- stay refused does not keep its documents; one stay may list a document
-- twice, as a check-in alone may). Returns each document found in house
-- (guest_row: the guest's place in the g_* arrays, from 0, with the room of
-- its stay, '' when none or when found earlier in the batch), whose stay is
-- refused, not stored, and its key given back; and each stay whose key was
-- used before (alone_stay: its place in the s_* arrays, from 0).
CREATE FUNCTION write_stays(
    lock_places bigint[], lock_indexes bytea[], ns integer[], places bigint[], docs bytea[],
    v_at timestamptz, v_date date, v_consent text,
    s_ids uuid[], s_places bigint[], s_departures date[], s_purposes text[], s_presences text[],
    s_tokens bytea[],
    k_scopes text[], k_keys text[], k_hashes bytea[], k_answers jsonb[],
    g_ids uuid[], g_stays uuid[], g_places bigint[], g_positions smallint[], g_nationalities text[],
    g_residences text[], g_sexes text[], g_age_bands text[], g_document_types text[],
    g_captures text[], g_companions uuid[], g_deadlines timestamptz[],
    i_names text[], i_searches text[], i_births date[], i_numbers bytea[], i_indexes bytea[],
    i_addresses bytea[], i_phones bytea[], i_visas bytea[], i_expiries date[], i_entries date[])
RETURNS TABLE (guest_row integer, room text, alone_stay integer)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET jit = off
SET enable_seqscan = off
AS $$
#variable_conflict use_column
DECLARE
    keyed boolean := array_remove(k_keys, NULL) <> '{}';
    taken integer[];
    alone integer[] := '{}';
    alone_ids uuid[] := '{}';
    found_ns integer[];
    found_rooms text[];
    refused uuid[];
    skipped uuid[];
    claimed text[] := '{}';
    clashes integer[];
BEGIN
    IF keyed THEN
        taken := take_keys(k_scopes, k_keys, k_hashes, k_answers);
        alone := ARRAY(SELECT k.n::integer FROM unnest(k_keys) WITH ORDINALITY AS k(key, n)
                       WHERE k.key IS NOT NULL AND k.n <> ALL (taken));
        alone_ids := ARRAY(SELECT s_ids[a] FROM unnest(alone) AS a);
    END IF;
    SELECT COALESCE(array_agg(f.n ORDER BY f.n), '{}'), COALESCE(array_agg(f.room ORDER BY f.n), '{}')
    INTO found_ns, found_rooms
    FROM documents_in_house(lock_places, lock_indexes, ns, places, docs) AS f
    WHERE g_stays[f.n + 1] <> ALL (alone_ids);
    refused := ARRAY(SELECT DISTINCT g_stays[f + 1] FROM unnest(found_ns) AS f);

    -- Two stays of the batch with one document at one place: in turn.
    skipped := refused || alone_ids;
    IF EXISTS (SELECT FROM unnest(g_places, i_indexes, g_stays) AS d(place_id, doc, stay_id)
               WHERE d.doc IS NOT NULL AND d.stay_id <> ALL (skipped)
               GROUP BY d.place_id, d.doc HAVING count(DISTINCT d.stay_id) > 1) THEN
        FOR s_n IN 1 .. cardinality(s_ids) LOOP
            CONTINUE WHEN s_ids[s_n] = ANY (skipped);
            clashes := ARRAY(SELECT r - 1 FROM generate_subscripts(g_ids, 1) AS r
                             WHERE g_stays[r] = s_ids[s_n] AND i_indexes[r] IS NOT NULL
                               AND g_places[r] || ':' || encode(i_indexes[r], 'hex') = ANY (claimed));
            IF clashes = '{}' THEN
                claimed := claimed || ARRAY(SELECT g_places[r] || ':' || encode(i_indexes[r], 'hex')
                                            FROM generate_subscripts(g_ids, 1) AS r
                                            WHERE g_stays[r] = s_ids[s_n] AND i_indexes[r] IS NOT NULL);
            ELSE
                found_ns := found_ns || clashes;
                found_rooms := found_rooms || array_fill(''::text, ARRAY[cardinality(clashes)]);
                refused := refused || s_ids[s_n];
            END IF;
        END LOOP;
    END IF;

    IF keyed AND refused <> '{}' THEN
        DELETE FROM idempotency_keys k
        USING unnest(s_ids, k_scopes, k_keys) AS s(id, scope, key)
        WHERE s.id = ANY (refused) AND k.scope = s.scope AND k.key = s.key;
    END IF;
    refused := refused || alone_ids;

    WITH new_stays AS (
        INSERT INTO stays (id, place_id, arrived_at, arrival_date, expected_departure, purpose,
                           source, presence, consent_version, checkout_token_hash)
        SELECT s.id, s.place_id, v_at, v_date, s.departure, s.purpose, 'self_qr', s.presence, v_consent,
               s.token_hash
        FROM unnest(s_ids, s_places, s_departures, s_purposes, s_presences, s_tokens)
             AS s(id, place_id, departure, purpose, presence, token_hash)
        WHERE s.id <> ALL (refused)
    ), new_guests AS (
        INSERT INTO guests (id, stay_id, place_id, position, arrived_at, arrival_date, nationality,
                            residence_country, sex, age_band, document_type, capture, companion_of,
                            notify_deadline)
        SELECT g.id, g.stay_id, g.place_id, g.position, v_at, v_date, g.nationality, g.residence, g.sex,
               g.age_band, g.document_type, g.capture, g.companion_of, g.deadline
        FROM unnest(g_ids, g_stays, g_places, g_positions, g_nationalities, g_residences, g_sexes,
                    g_age_bands, g_document_types, g_captures, g_companions, g_deadlines)
             AS g(id, stay_id, place_id, position, nationality, residence, sex, age_band,
                  document_type, capture, companion_of, deadline)
        WHERE g.stay_id <> ALL (refused)
    )
    INSERT INTO guest_identities (guest_id, full_name, name_search, date_of_birth, document_number,
                                  document_index, address, phone, visa_number, document_expiry,
                                  entry_date)
    SELECT i.guest_id, i.full_name, i.name_search, i.date_of_birth, i.document_number, i.document_index,
           i.address, i.phone, i.visa_number, i.document_expiry, i.entry_date
    FROM unnest(g_ids, g_stays, i_names, i_searches, i_births, i_numbers, i_indexes, i_addresses,
                i_phones, i_visas, i_expiries, i_entries)
         AS i(guest_id, stay_id, full_name, name_search, date_of_birth, document_number,
              document_index, address, phone, visa_number, document_expiry, entry_date)
    WHERE i.stay_id <> ALL (refused);

    RETURN QUERY
    SELECT f.n, f.room, NULL::integer FROM unnest(found_ns, found_rooms) AS f(n, room)
    UNION ALL
    SELECT NULL::integer, NULL::text, a - 1 FROM unnest(alone) AS a;
END
$$;

ALTER FUNCTION documents_in_house(bigint[], bytea[], integer[], bigint[], bytea[])
    SET enable_seqscan = off;
