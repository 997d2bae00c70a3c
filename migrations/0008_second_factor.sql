-- A second factor (TOTP, RFC 6238) for the accounts that read the whole
-- city: admin, office, inspector.
--
-- users.totp_secret: the shared secret, sealed with the data key like other
--   personal data (key id in its first byte);
-- users.totp_last_step: the last 30-second step a code was accepted for, so a
--   code seen over someone's shoulder cannot be used again;
-- sessions.second_factor_pending: a password was right but the code is still
--   owed; such a session opens nothing but the code page;
-- sessions.second_factor: the session was opened with a code. While the
--   second factor is required, sessions of admin, office and inspector
--   accounts without one open nothing (those opened before this migration,
--   or while the requirement was off);
-- sessions.totp_enrol_secret: while a first code is owed, the new secret
--   shown to the user (sealed), moved to the user once a code from it is right.
ALTER TABLE users
    ADD COLUMN totp_secret bytea,
    ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;

ALTER TABLE sessions
    ADD COLUMN second_factor_pending boolean NOT NULL DEFAULT false,
    ADD COLUMN second_factor boolean NOT NULL DEFAULT false,
    ADD COLUMN totp_enrol_secret bytea;
