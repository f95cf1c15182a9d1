-- 0004_tracker_state_availability: keep the built-in tracker's completed
-- download counts across restarts, and sample each torrent's piece
-- availability among the peers connected to podseed.
--
-- Times are INTEGER unix nanoseconds (UTC), as in 0001.

-- One row per v1 infohash the tracker has counted a completed download for.
-- No foreign key to torrents: with --open-tracker the tracker counts
-- torrents podseed does not seed, and a removed feed's torrent that comes
-- back (same bytes, same infohash) keeps its count. completed is a counter:
-- SaveTrackerCompleted never lowers it.
CREATE TABLE tracker_swarms (
	info_hash  TEXT    PRIMARY KEY CHECK (length(info_hash) = 40 AND info_hash NOT GLOB '*[^0-9a-f]*'),
	completed  INTEGER NOT NULL CHECK (completed >= 0),
	updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Distributed copies among the peers connected to podseed's client (not
-- counting podseed's own copy): the smallest number of peers having any one
-- piece, plus the share of pieces more peers have than that. 0 with no
-- peers; existing samples read 0.
ALTER TABLE swarm_samples ADD COLUMN availability REAL NOT NULL DEFAULT 0
	CHECK (availability >= 0);
