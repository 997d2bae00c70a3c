-- The room moves of each stay, in the order they were written: a place's
-- activity gives each line the room its stay had then (the room the stay's
-- next move left), one probe of this index per line.
CREATE INDEX audit_log_room_moves_idx ON audit_log (target, id)
    WHERE action = 'stay.correct' AND detail->>'field' = 'room';
