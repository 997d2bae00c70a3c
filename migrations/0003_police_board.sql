-- The deadline board reads the guests of a place not yet declared to the
-- police; few at any time, found without reading the place's history.
CREATE INDEX guests_unsent_idx ON guests (place_id, notify_deadline) WHERE notified_at IS NULL;
