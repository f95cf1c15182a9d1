-- When retention (a keep-newest-N-per-feed or disk-budget policy) deleted a
-- torrent's data from files/ and stopped podseed seeding it; NULL while
-- podseed keeps the data. An evicted torrent stays in the store and in the
-- republished feeds: listeners get it from the web seed and other peers.
-- Unix nanoseconds (UTC), as in 0001.
ALTER TABLE torrents ADD COLUMN evicted_at INTEGER;
