-- API tokens (AuthService): callers present `authorization: Bearer <secret>`; only the secret's
-- SHA-256 hash is stored. `role` is one of admin, operator, producer, worker, viewer; `queues`
-- holds the queue-name patterns the token may act on (`*` wildcard). A revoked token keeps its
-- row (revoked_at set) so ListTokens can show it; servers drop it from their cache at once.
CREATE TABLE api_tokens (
  id          text        PRIMARY KEY,
  name        text        NOT NULL,
  role        text        NOT NULL,
  queues      text[]      NOT NULL,
  token_hash  text        NOT NULL UNIQUE,
  prefix      text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
