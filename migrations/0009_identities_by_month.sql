-- Guests' personal data partitioned by month, so the retention purge drops
-- a month whole (DETACH, DROP) instead of deleting its rows one by one.
--
-- The partition key is the guest's id itself: ids are UUIDv7, whose first
-- 48 bits are the Unix time in milliseconds at which the guest was
-- recorded. A month is the range of ids from its first millisecond (UTC) to
-- the next month's. Lookups by guest id keep their primary key and find
-- their one partition; no column is added and no query changes.
--
-- Partitions are made ahead (this month and the next two) by the
-- retention job every hour. Rows no month partition covers (ids of another
-- kind, or a month that was not made in time) go to the default partition
-- and are purged row by row, as before.

-- The lowest UUIDv7 of a month (its first millisecond, UTC).
CREATE FUNCTION identity_month_bound(month date) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$
    SELECT (lpad(to_hex((extract(epoch FROM date_trunc('month', month)::timestamp) * 1000)::bigint), 12, '0')
            || '00000000000000000000')::uuid
$$;

-- The month (UTC) a UUIDv7 was made in; NULL for other kinds of UUID.
CREATE FUNCTION identity_month_of(id uuid) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN substr(id::text, 15, 1) = '7' THEN
        date_trunc('month', to_timestamp(
            ('x' || substr(replace(id::text, '-', ''), 1, 12))::bit(48)::bigint / 1000.0
        ) AT TIME ZONE 'UTC')::date
    END
$$;

ALTER TABLE guest_identities RENAME TO guest_identities_unpartitioned;
ALTER INDEX guest_identities_pkey RENAME TO guest_identities_unpartitioned_pkey;
ALTER INDEX guest_identities_document_idx RENAME TO guest_identities_unpartitioned_document_idx;

-- Personal data of a guest. Removed whole by the retention purge: a month
-- partition at once when every guest in it is past retention, else row by row.
CREATE TABLE guest_identities (
    guest_id         uuid PRIMARY KEY REFERENCES guests ON DELETE CASCADE,
    full_name        text NOT NULL,
    -- lower-case, without diacritics: "nguyen van an" finds "Nguyễn Văn An"
    name_search      text NOT NULL,
    date_of_birth    date NOT NULL,
    document_number  bytea,
    document_index   bytea,
    address          bytea,
    phone            bytea,
    visa_number      bytea,
    document_expiry  date,
    entry_date       date
) PARTITION BY RANGE (guest_id);
CREATE INDEX guest_identities_document_idx ON guest_identities (document_index);
CREATE TABLE guest_identities_default PARTITION OF guest_identities DEFAULT;

-- Make the partitions of `months` months from `first_month` that do not
-- exist yet; returns how many were made. A month whose rows already sit in
-- the default partition is left there.
CREATE FUNCTION ensure_identity_partitions(first_month date, months integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    month date;
    name text;
    made integer := 0;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        month := (date_trunc('month', first_month) + make_interval(months => i))::date;
        name := 'guest_identities_' || to_char(month, 'YYYY_MM');
        CONTINUE WHEN to_regclass(name) IS NOT NULL;
        BEGIN
            EXECUTE format('CREATE TABLE %I PARTITION OF guest_identities FOR VALUES FROM (%L) TO (%L)',
                           name, identity_month_bound(month),
                           identity_month_bound((month + interval '1 month')::date));
            made := made + 1;
        EXCEPTION WHEN check_violation THEN
            NULL;
        END;
    END LOOP;
    RETURN made;
END
$$;

SELECT ensure_identity_partitions(month, 1)
FROM (SELECT DISTINCT identity_month_of(guest_id) AS month
      FROM guest_identities_unpartitioned) AS months
WHERE month IS NOT NULL;
SELECT ensure_identity_partitions((now() AT TIME ZONE 'UTC')::date, 3);

INSERT INTO guest_identities SELECT * FROM guest_identities_unpartitioned;
DROP TABLE guest_identities_unpartitioned;
ALTER TABLE guest_identities RENAME CONSTRAINT guest_identities_guest_id_fkey1 TO guest_identities_guest_id_fkey;
