-- Indexes for the lookup API (GET /api/v1/lookup): ready episodes by
-- enclosure URL or by GUID across all feeds, and the newest ready episodes
-- for the aggregate feeds.
CREATE INDEX episodes_enclosure_url ON episodes (enclosure_url);
CREATE INDEX episodes_guid ON episodes (guid);
CREATE INDEX episodes_published_at ON episodes (published_at);
