-- no-transaction
-- Covered by guests_stay_id_position_key (see 0010).
DROP INDEX CONCURRENTLY IF EXISTS guests_stay_idx;
