-- The statistics triggers of 0005 joined each statement's transition table
-- to stays (and, when a stay is cancelled or restored, to guests) as whole
-- tables: the planner knows nothing of a transition table's size and chose
-- to scan them, so every check-in paid for a scan of every stay. Each row of
-- a statement now looks its stay (or its guests) up by key: the OFFSET 0
-- keeps the lookup a per-row subquery the planner cannot turn into a join.
-- What the triggers write is unchanged.

CREATE OR REPLACE FUNCTION stats_guests_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO stats_pending (day, place_id, nationality, arrivals, domestic_arrivals, same_day, nights)
        SELECT r.day, r.place_id, r.nationality, sum(r.arrivals), sum(r.domestic_arrivals), sum(r.same_day), sum(r.nights)
        FROM new_rows n,
             LATERAL (SELECT FROM stays s WHERE s.id = n.stay_id AND s.status = 'active' OFFSET 0) active,
             LATERAL stats_guest_rows(1, n) r
        GROUP BY 1, 2, 3;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO stats_pending (day, place_id, nationality, arrivals, domestic_arrivals, same_day, nights)
        SELECT r.day, r.place_id, r.nationality, sum(r.arrivals), sum(r.domestic_arrivals), sum(r.same_day), sum(r.nights)
        FROM old_rows o,
             LATERAL (SELECT FROM stays s WHERE s.id = o.stay_id AND s.status = 'active' OFFSET 0) active,
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

CREATE OR REPLACE FUNCTION stats_stays_written() RETURNS trigger LANGUAGE plpgsql AS $$
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
        FROM old_rows o JOIN new_rows n ON n.id = o.id,
             LATERAL (SELECT g FROM guests g WHERE g.stay_id = n.id OFFSET 0) AS own(g),
             LATERAL stats_guest_rows(CASE WHEN n.status = 'active' THEN 1 ELSE -1 END, own.g) r
        WHERE (o.status = 'active') <> (n.status = 'active')
        GROUP BY 1, 2, 3;
    END IF;
    RETURN NULL;
END
$$;

