-- A police declaration as exported: exactly which guests were in the file,
-- so that marking it sent records those guests and no one who arrived or
-- was entered after the download.
CREATE TABLE police_batches (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    place_id      bigint NOT NULL REFERENCES places,
    arrival_date  date NOT NULL,
    -- null: both sheets (the XLSX workbook)
    sheet         text CHECK (sheet IN ('vietnamese', 'foreign')),
    guest_ids     uuid[] NOT NULL,
    created_by    bigint REFERENCES users,
    created_at    timestamptz NOT NULL DEFAULT now(),
    reference     text,
    sent_at       timestamptz,
    sent_by       bigint REFERENCES users
);
CREATE INDEX police_batches_place_idx ON police_batches (place_id, created_at DESC);
