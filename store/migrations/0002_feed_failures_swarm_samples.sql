-- 0002_feed_failures_swarm_samples: count consecutive failed polls of a feed,
-- and keep a time series of swarm statistics per torrent for the dashboard.
--
-- Times are INTEGER unix nanoseconds (UTC), as in 0001.

-- Failed polls since the last successful one (200 or 304); 0 after a success.
-- Existing feeds start at 0.
ALTER TABLE feeds ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0
	CHECK (consecutive_failures >= 0);

-- One row per torrent and point in time. Samples are written at 1-minute
-- resolution (at is truncated to the minute); DownsampleSwarmSamples folds
-- minute points older than 24 h into one hourly point per torrent and UTC
-- clock hour, whose at is the time of the newest minute point folded into it,
-- and deletes hourly points older than 90 days. A minute point and an hourly
-- point never share an at.
--
-- The primary key (info_hash, at) is the index on (info_hash, at): it serves
-- one torrent's series in time order, its newest point, and the cascade from
-- torrents. WITHOUT ROWID stores the rows in that index itself.
CREATE TABLE swarm_samples (
	info_hash      TEXT    NOT NULL REFERENCES torrents (info_hash) ON DELETE CASCADE,
	at             INTEGER NOT NULL,
	resolution     INTEGER NOT NULL CHECK (resolution IN (60, 3600)), -- seconds: 60 minute point, 3600 hourly point
	seeders        INTEGER NOT NULL CHECK (seeders >= 0),            -- tracker scrape count
	leechers       INTEGER NOT NULL CHECK (leechers >= 0),           -- tracker scrape count
	completed      INTEGER NOT NULL CHECK (completed >= 0),          -- tracker scrape count (downloads so far)
	peers          INTEGER NOT NULL CHECK (peers >= 0),              -- peers connected to podseed's client
	bytes_uploaded INTEGER NOT NULL CHECK (bytes_uploaded >= 0),     -- cumulative bytes podseed uploaded
	PRIMARY KEY (info_hash, at)
) STRICT, WITHOUT ROWID;

-- Finds the minute points to fold and the hourly points to expire without
-- reading every torrent's series.
CREATE INDEX swarm_samples_resolution_at ON swarm_samples (resolution, at);
