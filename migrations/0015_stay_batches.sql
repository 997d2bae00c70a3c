-- A batch of visitors' stays in one statement (see checkin::stay_batch):
-- the document check of documents_in_house (0014), then the stays, their
-- guests and the guests' sealed personal data of every stay it does not
-- refuse, as one statement of three inserts. With no idempotency keys in
-- the batch (and no document brought by two of its stays) it is its own
-- transaction: one round trip to the database for the whole batch. A batch
-- that checked its documents already passes empty document arrays.
--
-- The document arrays are those of documents_in_house, each document
-- numbered by its guest's place in the guest arrays (from 0). Returns the
-- documents found in house, as documents_in_house does; every stay with
-- one of them is refused and not stored.
--
-- The insert's foreign keys and the statistics triggers run at the end of
-- its statement, when all three tables are written; the triggers see the
-- new stays because their functions are volatile (each of their queries
-- takes a fresh snapshot).
CREATE FUNCTION write_stays(
    lock_places bigint[], lock_indexes bytea[], ns integer[], places bigint[], docs bytea[],
    v_at timestamptz, v_date date, v_consent text,
    s_ids uuid[], s_places bigint[], s_departures date[], s_purposes text[], s_presences text[],
    s_tokens bytea[],
    g_ids uuid[], g_stays uuid[], g_places bigint[], g_positions smallint[], g_nationalities text[],
    g_residences text[], g_sexes text[], g_age_bands text[], g_document_types text[],
    g_captures text[], g_companions uuid[], g_deadlines timestamptz[],
    i_names text[], i_searches text[], i_births date[], i_numbers bytea[], i_indexes bytea[],
    i_addresses bytea[], i_phones bytea[], i_visas bytea[], i_expiries date[], i_entries date[])
RETURNS TABLE (n integer, room text)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    found_ns integer[];
    found_rooms text[];
    refused uuid[];
BEGIN
    SELECT COALESCE(array_agg(f.n ORDER BY f.n), '{}'), COALESCE(array_agg(f.room ORDER BY f.n), '{}')
    INTO found_ns, found_rooms
    FROM documents_in_house(lock_places, lock_indexes, ns, places, docs) AS f;
    refused := ARRAY(SELECT DISTINCT g_stays[f + 1] FROM unnest(found_ns) AS f);

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

    RETURN QUERY SELECT f.n, f.room FROM unnest(found_ns, found_rooms) AS f(n, room);
END
$$;
