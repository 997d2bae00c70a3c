-- Foundation schema of Lưu trú.
--
-- Conventions:
--  * every instant is a timestamptz; the local calendar dates that statistics
--    and legal deadlines use (Asia/Ho_Chi_Minh by default) are computed by the
--    service when a row is written and stored beside the instant, so reports
--    never convert time zones row by row;
--  * personal data (names, dates of birth, document numbers, addresses,
--    phones) lives in guest_identities only, so a retention purge deletes those
--    rows and leaves the facts statistics need (place, dates, nationality,
--    sex, age band) untouched in guests;
--  * document numbers, addresses, phones and visa numbers are AEAD ciphertexts
--    (key id in the first byte); exact search goes through an HMAC blind index.

-- Regions are data: a city loads its own wards and the country's provinces
-- with `luutru migrate` (from data/*.csv), so nothing here names a place.
CREATE TABLE wards (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    kind          text NOT NULL,
    -- names used before the 2025 merger, still printed on older ID cards
    former_units  text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE provinces (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    kind          text NOT NULL,
    former_units  text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL,
    -- argon2id PHC string
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'office', 'inspector', 'manager', 'staff')),
    display_name  text NOT NULL DEFAULT '',
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Accommodation establishments (cơ sở lưu trú) and tourist sites.
CREATE TABLE places (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind               text NOT NULL CHECK (kind IN ('accommodation', 'attraction')),
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    address            text NOT NULL DEFAULT '',
    ward_id            integer NOT NULL REFERENCES wards,
    accommodation_type text CHECK (accommodation_type IN
                         ('hotel', 'resort', 'homestay', 'guesthouse', 'apartment', 'hostel', 'other')),
    class              smallint CHECK (class BETWEEN 1 AND 5),
    rooms              integer CHECK (rooms >= 0),
    beds               integer CHECK (beds >= 0),
    status             text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'seasonal')),
    -- months (1-12) a seasonal place is open
    season_months      smallint[] NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'accommodation') = (accommodation_type IS NOT NULL))
);
CREATE INDEX places_ward_idx ON places (ward_id);

-- Managers and staff work for one or more places.
CREATE TABLE place_members (
    user_id   bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    place_id  bigint NOT NULL REFERENCES places ON DELETE CASCADE,
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, place_id)
);
CREATE INDEX place_members_place_idx ON place_members (place_id);

-- Signed check-in codes. History is kept: a rotated code stays here with its
-- revocation time, so an old poster can be told apart from a forged one.
CREATE TABLE qr_codes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    place_id    bigint NOT NULL REFERENCES places ON DELETE CASCADE,
    -- upper-case base32 of version, key id, serial and MAC
    code        text NOT NULL UNIQUE,
    key_id      smallint NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    issued_by   bigint REFERENCES users,
    revoked_at  timestamptz
);
CREATE UNIQUE INDEX qr_codes_one_active_per_place ON qr_codes (place_id) WHERE revoked_at IS NULL;

-- Sign-in sessions; the same token is a bearer token and a cookie.
-- Only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash  bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- A stay: one room, one party, at one accommodation.
CREATE TABLE stays (
    id                  uuid PRIMARY KEY,
    place_id            bigint NOT NULL REFERENCES places,
    room                text,
    arrived_at          timestamptz NOT NULL,
    arrival_date        date NOT NULL,
    expected_departure  date NOT NULL,
    departed_at         timestamptz,
    departure_date      date,
    checkout_by         text CHECK (checkout_by IN ('visitor', 'desk', 'automatic')),
    -- a no-show or a cancelled stay counts nowhere in statistics
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled', 'no_show')),
    purpose             text NOT NULL CHECK (purpose IN ('tourism', 'business', 'visiting_family', 'other')),
    source              text NOT NULL CHECK (source IN ('self_qr', 'desk')),
    presence            text NOT NULL CHECK (presence IN ('printed_code', 'desk_screen', 'desk_staff')),
    -- when the desk saw the documents of a self check-in (desk entries are confirmed at once)
    confirmed_at        timestamptz,
    consent_version     text,
    -- SHA-256 of the visitor's check-out token
    checkout_token_hash bytea,
    created_by          bigint REFERENCES users,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (departed_at IS NULL OR departed_at >= arrived_at),
    CHECK ((departed_at IS NULL) = (departure_date IS NULL))
);
CREATE INDEX stays_place_arrival_idx ON stays (place_id, arrived_at DESC);
CREATE INDEX stays_in_house_idx ON stays (place_id) WHERE departed_at IS NULL;

-- One row per guest with the facts statistics need; no personal data here.
CREATE TABLE guests (
    id                 uuid PRIMARY KEY,
    stay_id            uuid NOT NULL REFERENCES stays ON DELETE CASCADE,
    place_id           bigint NOT NULL REFERENCES places,
    -- order in the party; 0 is the head of the party or group leader
    position           smallint NOT NULL,
    arrived_at         timestamptz NOT NULL,
    arrival_date       date NOT NULL,
    -- each guest may leave before the room does
    departed_at        timestamptz,
    departure_date     date,
    -- as printed on the document (ICAO code); mapped for statistics
    nationality        text NOT NULL CHECK (nationality ~ '^[A-Z]{1,3}$'),
    residence_country  text NOT NULL CHECK (residence_country ~ '^[A-Z]{1,3}$'),
    sex                text NOT NULL CHECK (sex IN ('M', 'F', 'X')),
    age_band           text NOT NULL,
    document_type      text NOT NULL CHECK (document_type IN ('cccd', 'cmnd', 'passport', 'other', 'none')),
    capture            text NOT NULL DEFAULT 'manual' CHECK (capture IN ('cccd_qr', 'mrz', 'manual')),
    -- a child under 14 without a document travels with an adult of the stay
    companion_of       uuid REFERENCES guests,
    -- thông báo lưu trú: deadline from the law, and when it was sent
    notify_deadline    timestamptz NOT NULL,
    notified_at        timestamptz,
    notification_ref   text,
    UNIQUE (stay_id, position),
    CHECK ((departed_at IS NULL) = (departure_date IS NULL))
);
CREATE INDEX guests_stay_idx ON guests (stay_id);
CREATE INDEX guests_arrival_idx ON guests (arrival_date);
CREATE INDEX guests_in_house_idx ON guests (place_id) WHERE departed_at IS NULL;

-- Personal data of a guest. Removed whole by the retention purge.
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
);
CREATE INDEX guest_identities_document_idx ON guest_identities (document_index);

-- People counted in at tourist sites.
CREATE TABLE visits (
    id                  uuid PRIMARY KEY,
    place_id            bigint NOT NULL REFERENCES places,
    visited_at          timestamptz NOT NULL,
    visit_date          date NOT NULL,
    visit_hour          smallint NOT NULL CHECK (visit_hour BETWEEN 0 AND 23),
    party_size          integer NOT NULL CHECK (party_size BETWEEN 1 AND 500),
    origin_country      text NOT NULL CHECK (origin_country ~ '^[A-Z]{1,3}$'),
    origin_province_id  integer REFERENCES provinces
);
CREATE INDEX visits_date_idx ON visits (visit_date);
CREATE INDEX visits_place_date_idx ON visits (place_id, visit_date);

-- A retried request with the same Idempotency-Key returns the first answer.
-- The key row is written in the same transaction as what it protects.
CREATE TABLE idempotency_keys (
    scope         text NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    status        smallint,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Who did what: sign-ins, changes, reads of personal data, exports.
CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_id     bigint REFERENCES users,
    action       text NOT NULL,
    place_id     bigint REFERENCES places,
    target       text,
    detail       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_place_idx ON audit_log (place_id, at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at DESC);
