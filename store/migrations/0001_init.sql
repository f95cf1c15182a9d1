-- 0001_init: feeds, the episodes found in them, and the torrents made from
-- their enclosures.
--
-- Times are INTEGER unix nanoseconds (UTC); NULL means "never" / "unknown".
-- Text columns that may be unknown are NOT NULL DEFAULT '' so Go reads them
-- into plain strings.

CREATE TABLE feeds (
	id              INTEGER PRIMARY KEY,
	url             TEXT    NOT NULL UNIQUE CHECK (url <> ''),
	title           TEXT    NOT NULL DEFAULT '',
	etag            TEXT    NOT NULL DEFAULT '',
	last_modified   TEXT    NOT NULL DEFAULT '',
	body            BLOB,              -- exact bytes of the last 200 response; NULL if never fetched
	last_fetched_at INTEGER,
	next_poll_at    INTEGER,           -- NULL: due now
	last_error      TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX feeds_next_poll_at ON feeds (next_poll_at);

-- A torrent may be shared by several episodes (same bytes, same infohash),
-- possibly of different feeds, so it points at no episode; episodes point at it.
CREATE TABLE torrents (
	info_hash    TEXT    PRIMARY KEY CHECK (length(info_hash) = 40 AND info_hash NOT GLOB '*[^0-9a-f]*'),
	name         TEXT    NOT NULL,
	metainfo     BLOB    NOT NULL,
	piece_length INTEGER NOT NULL CHECK (piece_length > 0),
	size         INTEGER NOT NULL CHECK (size >= 0),
	data_path    TEXT    NOT NULL,
	sri          TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE episodes (
	id               INTEGER PRIMARY KEY,
	feed_id          INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
	guid             TEXT    NOT NULL CHECK (guid <> ''),
	title            TEXT    NOT NULL DEFAULT '',
	enclosure_url    TEXT    NOT NULL CHECK (enclosure_url <> ''),
	enclosure_length INTEGER NOT NULL DEFAULT 0,   -- declared by the feed, bytes; 0 if unknown
	enclosure_type   TEXT    NOT NULL DEFAULT '',
	published_at     INTEGER,
	state            TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'ready', 'failed')),
	last_error       TEXT    NOT NULL DEFAULT '',
	attempts         INTEGER NOT NULL DEFAULT 0,
	next_attempt_at  INTEGER,
	info_hash        TEXT    REFERENCES torrents (info_hash),
	created_at       INTEGER NOT NULL,
	UNIQUE (feed_id, guid),
	CHECK ((state = 'ready') = (info_hash IS NOT NULL))
) STRICT;

CREATE INDEX episodes_info_hash ON episodes (info_hash);
CREATE INDEX episodes_state_next_attempt_at ON episodes (state, next_attempt_at);
