-- City statistics kept as stays, guests and visits are written.
--
-- Every statement that writes guests, stays or visits adds its effect on the
-- figures to stats_pending, in the same transaction, without touching a
-- shared row (concurrent check-ins never wait on one another here). A
-- background fold, every second, moves pending rows into the day tables.
-- Readers add the day tables and what is still pending, so figures are exact
-- at every moment, and a stay is counted once whether it is folded or not.
--
-- Nights of guests still in house are not here: they grow every night until
-- the guest leaves. Readers count them from the guests in house (a small set,
-- see guests_in_house_idx); the guest's whole stay is added at check-out.

CREATE TABLE stats_pending (
    day                date NOT NULL,
    place_id           bigint NOT NULL,
    -- guests only: the nationality as printed
    nationality        text,
    -- visits only: the local hour and the province of origin, if given
    hour               smallint,
    province_id        integer,
    arrivals           bigint NOT NULL DEFAULT 0,
    domestic_arrivals  bigint NOT NULL DEFAULT 0,
    same_day           bigint NOT NULL DEFAULT 0,
    nights             bigint NOT NULL DEFAULT 0,
    room_nights        bigint NOT NULL DEFAULT 0,
    visitors           bigint NOT NULL DEFAULT 0
);

-- One row per day and place; place_id 0 holds the whole city's day.
CREATE TABLE stats_place_days (
    day                date NOT NULL,
    place_id           bigint NOT NULL,
    arrivals           bigint NOT NULL DEFAULT 0,
    domestic_arrivals  bigint NOT NULL DEFAULT 0,
    same_day           bigint NOT NULL DEFAULT 0,
    nights             bigint NOT NULL DEFAULT 0,
    room_nights        bigint NOT NULL DEFAULT 0,
    visitors           bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (place_id, day)
);
CREATE INDEX stats_place_days_day_idx ON stats_place_days (day);

-- Readers count guests in house unless their stay is cancelled or a
-- no-show: a small set, found without reading the stays.
CREATE INDEX stays_not_counted_idx ON stays (id) WHERE status <> 'active';
-- The guests in house with what the readers need, read from the index alone.
CREATE INDEX guests_in_house_stats_idx ON guests (place_id, arrival_date)
    INCLUDE (nationality, stay_id) WHERE departed_at IS NULL;
CREATE INDEX stays_in_house_stats_idx ON stays (place_id)
    INCLUDE (arrival_date, status) WHERE departed_at IS NULL;

-- Guests by nationality; place_id 0 holds the whole city.
CREATE TABLE stats_nationality_days (
    day          date NOT NULL,
    place_id     bigint NOT NULL,
    nationality  text NOT NULL,
    arrivals     bigint NOT NULL DEFAULT 0,
    nights       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (place_id, day, nationality)
);

-- Site visitors by hour and province of origin (0: not given).
CREATE TABLE stats_visit_days (
    day          date NOT NULL,
    place_id     bigint NOT NULL,
    hour         smallint NOT NULL,
    province_id  integer NOT NULL,
    visitors     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, place_id, hour, province_id)
);

-- What one guest row adds to the figures (sign 1) or takes away (sign -1):
-- an arrival on the arrival day and, once the guest has left, one night for
-- each day from arrival to the day before departure.
CREATE FUNCTION stats_guest_rows(sign integer, g guests)
RETURNS TABLE (day date, place_id bigint, nationality text, arrivals bigint,
               domestic_arrivals bigint, same_day bigint, nights bigint)
LANGUAGE sql IMMUTABLE AS $$
    SELECT g.arrival_date, g.place_id, g.nationality, sign::bigint,
           CASE WHEN g.residence_country = 'VNM' THEN sign ELSE 0 END::bigint,
           CASE WHEN g.departure_date = g.arrival_date THEN sign ELSE 0 END::bigint, 0::bigint
    UNION ALL
    SELECT d::date, g.place_id, g.nationality, 0, 0, 0, sign::bigint
    FROM generate_series(g.arrival_date, g.departure_date - 1, interval '1 day') d
    WHERE g.departure_date > g.arrival_date
$$;

-- What one stay adds to room-nights once it is over.
CREATE FUNCTION stats_stay_rows(sign integer, s stays)
RETURNS TABLE (day date, place_id bigint, room_nights bigint)
LANGUAGE sql IMMUTABLE AS $$
    SELECT d::date, s.place_id, sign::bigint
    FROM generate_series(s.arrival_date, s.departure_date - 1, interval '1 day') d
    WHERE s.departure_date > s.arrival_date
$$;

CREATE FUNCTION stats_guests_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO stats_pending (day, place_id, nationality, arrivals, domestic_arrivals, same_day, nights)
        SELECT r.day, r.place_id, r.nationality, sum(r.arrivals), sum(r.domestic_arrivals), sum(r.same_day), sum(r.nights)
        FROM new_rows n JOIN stays s ON s.id = n.stay_id AND s.status = 'active',
             LATERAL stats_guest_rows(1, n) r
        GROUP BY 1, 2, 3;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO stats_pending (day, place_id, nationality, arrivals, domestic_arrivals, same_day, nights)
        SELECT r.day, r.place_id, r.nationality, sum(r.arrivals), sum(r.domestic_arrivals), sum(r.same_day), sum(r.nights)
        FROM old_rows o JOIN stays s ON s.id = o.stay_id AND s.status = 'active',
             LATERAL stats_guest_rows(-1, o) r
        GROUP BY 1, 2, 3;
    ELSE
        INSERT INTO stats_pending (day, place_id, nationality, arrivals, domestic_arrivals, same_day, nights)
        SELECT r.day, r.place_id, r.nationality, sum(r.arrivals), sum(r.domestic_arrivals), sum(r.same_day), sum(r.nights)
        FROM old_rows o JOIN new_rows n ON n.id = o.id,
        LATERAL (
            SELECT x.* FROM stays s, LATERAL stats_guest_rows(-1, o) x
            WHERE s.id = o.stay_id AND s.status = 'active'
            UNION ALL
            SELECT x.* FROM stays s, LATERAL stats_guest_rows(1, n) x
            WHERE s.id = n.stay_id AND s.status = 'active'
        ) r
        WHERE (o.stay_id, o.place_id, o.arrival_date, o.departure_date, o.nationality, o.residence_country)
              IS DISTINCT FROM (n.stay_id, n.place_id, n.arrival_date, n.departure_date, n.nationality, n.residence_country)
        GROUP BY 1, 2, 3;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER stats_guests_inserted AFTER INSERT ON guests
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_guests_written();
CREATE TRIGGER stats_guests_updated AFTER UPDATE ON guests
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_guests_written();
CREATE TRIGGER stats_guests_deleted AFTER DELETE ON guests
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_guests_written();

-- A stay's room-nights; and when a stay is cancelled or restored, all its
-- guests leave or re-enter the figures.
CREATE FUNCTION stats_stays_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO stats_pending (day, place_id, room_nights)
        SELECT r.day, r.place_id, sum(r.room_nights)
        FROM new_rows n, LATERAL stats_stay_rows(1, n) r WHERE n.status = 'active'
        GROUP BY 1, 2;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO stats_pending (day, place_id, room_nights)
        SELECT r.day, r.place_id, sum(r.room_nights)
        FROM old_rows o, LATERAL stats_stay_rows(-1, o) r WHERE o.status = 'active'
        GROUP BY 1, 2;
    ELSE
        INSERT INTO stats_pending (day, place_id, room_nights)
        SELECT r.day, r.place_id, sum(r.room_nights)
        FROM old_rows o JOIN new_rows n ON n.id = o.id,
        LATERAL (
            SELECT x.* FROM stats_stay_rows(-1, o) x WHERE o.status = 'active'
            UNION ALL
            SELECT x.* FROM stats_stay_rows(1, n) x WHERE n.status = 'active'
        ) r
        WHERE (o.place_id, o.arrival_date, o.departure_date, o.status)
              IS DISTINCT FROM (n.place_id, n.arrival_date, n.departure_date, n.status)
        GROUP BY 1, 2;

        INSERT INTO stats_pending (day, place_id, nationality, arrivals, domestic_arrivals, same_day, nights)
        SELECT r.day, r.place_id, r.nationality, sum(r.arrivals), sum(r.domestic_arrivals), sum(r.same_day), sum(r.nights)
        FROM old_rows o JOIN new_rows n ON n.id = o.id
             JOIN guests g ON g.stay_id = n.id,
             LATERAL stats_guest_rows(CASE WHEN n.status = 'active' THEN 1 ELSE -1 END, g) r
        WHERE (o.status = 'active') <> (n.status = 'active')
        GROUP BY 1, 2, 3;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER stats_stays_inserted AFTER INSERT ON stays
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_stays_written();
CREATE TRIGGER stats_stays_updated AFTER UPDATE ON stays
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_stays_written();
CREATE TRIGGER stats_stays_deleted AFTER DELETE ON stays
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_stays_written();

CREATE FUNCTION stats_visits_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO stats_pending (day, place_id, hour, province_id, visitors)
        SELECT visit_date, place_id, visit_hour, COALESCE(origin_province_id, 0), -sum(party_size)
        FROM old_rows GROUP BY 1, 2, 3, 4;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO stats_pending (day, place_id, hour, province_id, visitors)
        SELECT visit_date, place_id, visit_hour, COALESCE(origin_province_id, 0), sum(party_size)
        FROM new_rows GROUP BY 1, 2, 3, 4;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER stats_visits_inserted AFTER INSERT ON visits
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_visits_written();
CREATE TRIGGER stats_visits_updated AFTER UPDATE ON visits
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_visits_written();
CREATE TRIGGER stats_visits_deleted AFTER DELETE ON visits
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_visits_written();

-- Move what is pending into the day tables, in one statement; returns the
-- number of pending rows moved. One fold runs at a time across instances.
CREATE FUNCTION stats_fold() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    moved_rows bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('stats_fold')) THEN
        RETURN 0;
    END IF;
    WITH moved AS (DELETE FROM stats_pending RETURNING *),
    into_places AS (
        INSERT INTO stats_place_days AS t (day, place_id, arrivals, domestic_arrivals, same_day, nights, room_nights, visitors)
        SELECT m.day, p.id, sum(m.arrivals), sum(m.domestic_arrivals), sum(m.same_day), sum(m.nights),
               sum(m.room_nights), sum(m.visitors)
        FROM moved m, LATERAL (VALUES (m.place_id), (0)) p(id)
        GROUP BY 1, 2
        ON CONFLICT (place_id, day) DO UPDATE SET
            arrivals = t.arrivals + excluded.arrivals,
            domestic_arrivals = t.domestic_arrivals + excluded.domestic_arrivals,
            same_day = t.same_day + excluded.same_day,
            nights = t.nights + excluded.nights,
            room_nights = t.room_nights + excluded.room_nights,
            visitors = t.visitors + excluded.visitors
        RETURNING 1
    ),
    into_nationalities AS (
        INSERT INTO stats_nationality_days AS t (day, place_id, nationality, arrivals, nights)
        SELECT m.day, p.id, m.nationality, sum(m.arrivals), sum(m.nights)
        FROM moved m, LATERAL (VALUES (m.place_id), (0)) p(id)
        WHERE m.nationality IS NOT NULL
        GROUP BY 1, 2, 3
        ON CONFLICT (place_id, day, nationality) DO UPDATE SET
            arrivals = t.arrivals + excluded.arrivals,
            nights = t.nights + excluded.nights
        RETURNING 1
    ),
    into_visits AS (
        INSERT INTO stats_visit_days AS t (day, place_id, hour, province_id, visitors)
        SELECT m.day, m.place_id, m.hour, m.province_id, sum(m.visitors)
        FROM moved m WHERE m.hour IS NOT NULL
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (day, place_id, hour, province_id) DO UPDATE SET visitors = t.visitors + excluded.visitors
        RETURNING 1
    )
    SELECT count(*) INTO moved_rows FROM moved;
    RETURN moved_rows;
END
$$;

-- What is already stored enters the figures once.
INSERT INTO stats_pending (day, place_id, nationality, arrivals, domestic_arrivals, same_day, nights)
SELECT r.day, r.place_id, r.nationality, sum(r.arrivals), sum(r.domestic_arrivals), sum(r.same_day), sum(r.nights)
FROM guests g JOIN stays s ON s.id = g.stay_id AND s.status = 'active', LATERAL stats_guest_rows(1, g) r
GROUP BY 1, 2, 3;
INSERT INTO stats_pending (day, place_id, room_nights)
SELECT r.day, r.place_id, sum(r.room_nights)
FROM stays s, LATERAL stats_stay_rows(1, s) r WHERE s.status = 'active'
GROUP BY 1, 2;
INSERT INTO stats_pending (day, place_id, hour, province_id, visitors)
SELECT visit_date, place_id, visit_hour, COALESCE(origin_province_id, 0), sum(party_size)
FROM visits GROUP BY 1, 2, 3, 4;
SELECT stats_fold();
