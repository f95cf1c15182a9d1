-- 0009_swarm_samples_web_seeded: sample the bytes podseed served over HTTP
-- as a web seed (/webseed/{infohash}/{name} and /episodes/{id} serving its
-- own copy), next to the bytes its BitTorrent client uploaded.
--
-- Times are INTEGER unix nanoseconds (UTC), as in 0001.

-- Cumulative response-body bytes of those copies, per torrent: a counter
-- that the process restores from the newest sample at start, so it survives
-- restarts. Existing samples read 0.
ALTER TABLE swarm_samples ADD COLUMN bytes_web_seeded INTEGER NOT NULL DEFAULT 0
	CHECK (bytes_web_seeded >= 0);
