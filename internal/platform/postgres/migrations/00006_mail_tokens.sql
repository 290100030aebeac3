-- Purpose: verification_tokens and password_reset_tokens, the single-use
-- tokens that mail carries.
-- Depends on: nothing (no foreign keys, as seed 001 has them).
-- Key features:
--   * primary key (identifier, token) as seed 001 has it; identifier is the
--     email address; token holds only the SHA-256 hash of the token sent.
--   * expires bounds a token's life; using a token deletes it.

-- +goose Up
CREATE TABLE verification_tokens (
    identifier text NOT NULL,
    token      bytea NOT NULL,
    expires    timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT pk_verification_tokens PRIMARY KEY (identifier, token)
);
CREATE UNIQUE INDEX idx_verification_tokens_token ON verification_tokens (token);
CREATE INDEX idx_verification_tokens_expires ON verification_tokens (expires);
CREATE TABLE password_reset_tokens (
    identifier text NOT NULL,
    token      bytea NOT NULL,
    expires    timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT pk_password_reset_tokens PRIMARY KEY (identifier, token)
);
CREATE UNIQUE INDEX idx_password_reset_tokens_token ON password_reset_tokens (token);
CREATE INDEX idx_password_reset_tokens_expires ON password_reset_tokens (expires);

-- +goose Down
DROP TABLE password_reset_tokens;
DROP TABLE verification_tokens;
