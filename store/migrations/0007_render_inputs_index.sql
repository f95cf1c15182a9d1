-- A covering index over the torrent columns that can change after a
-- torrent is created and that the republished and torrent feeds show (its
-- web seed: withheld, source and resolved URL, dead mark; retirement; the
-- publisher's own torrent). WriteFeedRenderInputs reads them from this
-- index, never from the table row, whose metainfo blob comes first.
CREATE INDEX torrents_render_inputs ON torrents (
	info_hash, web_seed_withheld, source_url, resolved_url, web_seed_dead_at, retired_at, publisher_url);
