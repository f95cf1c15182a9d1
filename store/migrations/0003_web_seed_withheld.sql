-- Why a torrent's web seed (BEP 19 url-list) was left out of its metainfo,
-- e.g. because the origin serves different bytes per request (dynamic ad
-- insertion); '' when the web seed is published.
ALTER TABLE torrents ADD COLUMN web_seed_withheld TEXT NOT NULL DEFAULT '';
