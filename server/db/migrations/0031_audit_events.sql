-- Audit log (AuthService.ListAuditEvents): one row per admin or operator action, written before
-- the action's answer is sent. `request_json` is the request in proto3 JSON.
CREATE TABLE audit_events (
  id           bigserial   PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  actor        text        NOT NULL,
  role         text        NOT NULL,
  peer         text        NOT NULL,
  method       text        NOT NULL,
  request_json text        NOT NULL,
  outcome      text        NOT NULL
);
