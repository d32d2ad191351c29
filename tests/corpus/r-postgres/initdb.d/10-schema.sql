-- Schema of the r-postgres corpus image, run once by the entrypoint on the temporary server.
CREATE TABLE accounts (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_created_at ON accounts (created_at);
INSERT INTO accounts (name) VALUES ('alice'), ('bob'), ('carol');
CREATE ROLE reader LOGIN PASSWORD 'reader-corpus-only';
GRANT SELECT ON accounts TO reader;
