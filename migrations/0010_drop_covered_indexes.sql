-- Three indexes of 0001 are covered by later ones that begin with the same
-- columns under the same condition, and every check-in paid to keep all of
-- them:
--   stays_in_house_idx (place_id) WHERE departed_at IS NULL
--     by stays_in_house_stats_idx (place_id) INCLUDE (...), same condition;
--   guests_in_house_idx (place_id) WHERE departed_at IS NULL
--     by guests_in_house_stats_idx (place_id, arrival_date) INCLUDE (...),
--     same condition;
--   guests_stay_idx (stay_id)
--     by the unique guests_stay_id_position_key (stay_id, position).
DROP INDEX stays_in_house_idx;
DROP INDEX guests_in_house_idx;
DROP INDEX guests_stay_idx;
