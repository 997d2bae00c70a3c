-- Stays still open past their expected departure are checked out by a
-- background job; this index finds them without scanning the history.
CREATE INDEX stays_open_departure_idx ON stays (expected_departure) WHERE departed_at IS NULL;

-- A phone that counts its party in twice at the same site within a short
-- window is counted once: the page keeps an opaque id in a cookie, stored
-- here only as a keyed hash.
ALTER TABLE visits ADD COLUMN device_hash bytea;
CREATE INDEX visits_device_idx ON visits (place_id, device_hash, visited_at DESC) WHERE device_hash IS NOT NULL;
