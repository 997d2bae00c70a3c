-- no-transaction
-- Covered by guests_in_house_stats_idx (see 0010).
DROP INDEX CONCURRENTLY IF EXISTS guests_in_house_idx;
