-- 0004_enclosure_lifecycle: what podseed learns about an enclosure after
-- its torrent is made. A ready episode whose enclosure changes (same GUID,
-- new URL, length or ETag) gets a new torrent that replaces the old one; the
-- old torrent is retired, not deleted, so its .torrent URL can answer 410
-- Gone. A periodic probe marks an enclosure whose origin is gone as dead,
-- which withholds its web seed. podcast:locked is kept per feed.
--
-- Times are INTEGER unix nanoseconds (UTC), as in 0001; NULL means never.

-- The URL the torrent's bytes were downloaded from (the feed's enclosure
-- URL at the time), the URL it resolved to after redirects ('' unknown) and
-- the ETag the origin sent with the bytes ('' none).
ALTER TABLE torrents ADD COLUMN source_url   TEXT NOT NULL DEFAULT '';
ALTER TABLE torrents ADD COLUMN resolved_url TEXT NOT NULL DEFAULT '';
ALTER TABLE torrents ADD COLUMN etag         TEXT NOT NULL DEFAULT '';
UPDATE torrents SET source_url = COALESCE(
	(SELECT e.enclosure_url FROM episodes e WHERE e.info_hash = torrents.info_hash ORDER BY e.id LIMIT 1), '');

-- Retirement: set when a new torrent replaced this one for every episode
-- that used it. A retired torrent is no longer seeded, tracked or
-- published, and its data file is removed; the row stays.
ALTER TABLE torrents ADD COLUMN retired_at     INTEGER;
ALTER TABLE torrents ADD COLUMN retired_reason TEXT NOT NULL DEFAULT '';

-- Enclosure probe (a 1-byte Range GET of source_url). web_seed_dead_at is
-- set while the origin answers 404/410 (or keeps failing DNS or refusing
-- connections); the web seed is then withheld from the served metainfo.
ALTER TABLE torrents ADD COLUMN web_seed_dead_at     INTEGER;
ALTER TABLE torrents ADD COLUMN web_seed_dead_reason TEXT    NOT NULL DEFAULT '';
ALTER TABLE torrents ADD COLUMN probe_failures       INTEGER NOT NULL DEFAULT 0 CHECK (probe_failures >= 0);
ALTER TABLE torrents ADD COLUMN probed_at            INTEGER;
ALTER TABLE torrents ADD COLUMN next_probe_at        INTEGER; -- NULL: due now

CREATE INDEX torrents_next_probe_at ON torrents (next_probe_at) WHERE retired_at IS NULL;

-- A ready episode whose enclosure changed: why a replacement torrent is due
-- ('' when none is). The current torrent stays published until the
-- replacement is complete; failed attempts use attempts, last_error and
-- next_attempt_at as downloads of pending episodes do.
ALTER TABLE episodes ADD COLUMN replace_reason TEXT NOT NULL DEFAULT '';

-- Which torrents an episode had before, newest last.
CREATE TABLE torrent_replacements (
	episode_id    INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
	old_info_hash TEXT    NOT NULL,
	new_info_hash TEXT    NOT NULL,
	reason        TEXT    NOT NULL DEFAULT '',
	replaced_at   INTEGER NOT NULL,
	PRIMARY KEY (episode_id, old_info_hash, replaced_at)
) STRICT;

-- <podcast:locked> of the feed's last successful fetch (0 or 1) and its
-- owner attribute.
ALTER TABLE feeds ADD COLUMN locked       INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1));
ALTER TABLE feeds ADD COLUMN locked_owner TEXT    NOT NULL DEFAULT '';

-- A feed that carries its own torrent for an enclosure (PeerTube): the
-- .torrent URL the item names ('' none), and, on a torrent podseed adopted
-- from it after verifying its pieces against the downloaded file, where it
-- came from ('' for torrents podseed made).
ALTER TABLE episodes ADD COLUMN publisher_torrent_url TEXT NOT NULL DEFAULT '';
ALTER TABLE torrents ADD COLUMN publisher_url         TEXT NOT NULL DEFAULT '';
