-- Retention (reports::retention): a visit whose object was told to forget
-- everything is marked, so the daily job asks each object once. A visit
-- that is active again (a new flush) is unmarked.
ALTER TABLE visits ADD COLUMN forgotten INTEGER NOT NULL DEFAULT 0;
CREATE INDEX visits_to_forget ON visits (tenant_id, forgotten, updated_at_ms);
