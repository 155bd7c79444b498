-- Usage reports. No patient data: a visit is named by a keyed hash of its
-- appointment; the EHR user id is the only personal identifier.

-- Every event, as it happened (visit events and launches).
CREATE TABLE events (
  tenant_id   TEXT NOT NULL,
  base_id     TEXT NOT NULL DEFAULT '',
  visit_ref   TEXT NOT NULL DEFAULT '',
  -- The event's place in its visit (0.. per visit_ref), or a random id for
  -- launches: flushing twice never counts twice.
  seq         TEXT NOT NULL,
  kind        TEXT NOT NULL,
  at_ms       INTEGER NOT NULL,
  ehr_user_id TEXT,
  detail      TEXT,
  PRIMARY KEY (visit_ref, seq)
) WITHOUT ROWID;
CREATE INDEX events_by_tenant_time ON events (tenant_id, at_ms);

-- One row per visit, recomputed by the visit's object whenever its events change.
CREATE TABLE visits (
  visit_ref          TEXT PRIMARY KEY,
  tenant_id          TEXT NOT NULL,
  base_id            TEXT NOT NULL,
  scheduled_start_ms INTEGER,
  scheduled_end_ms   INTEGER,
  day_ms             INTEGER NOT NULL,
  started_at_ms      INTEGER,
  duration_ms        INTEGER,
  lobby_wait_ms      INTEGER,
  status             TEXT NOT NULL,
  peak_attendees     INTEGER NOT NULL,
  sms_sent           INTEGER NOT NULL,
  updated_at_ms      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX visits_by_tenant_day ON visits (tenant_id, day_ms);
