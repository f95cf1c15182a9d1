-- 0010_relative_data_paths: record each torrent's data file relative to the
-- files directory ("<infohash>/<name>") instead of as an absolute path, so a
-- data directory moved or restored elsewhere while podseed is stopped keeps
-- working (the Store joins the path with the files directory it is opened
-- with; see store.Options.FilesDir).
--
-- Rewrites the absolute rows laid out as podseed writes them,
-- <anything>/files/<infohash>/<name> with <name> a single path element.
-- '/files/' || info_hash || '/' is 48 characters. Other rows stay as they
-- are: a Store with a files directory refuses them (their DataPath reads
-- "", so they are neither seeded, served nor deleted).
UPDATE torrents SET data_path = info_hash || '/' || m.name
FROM (
	SELECT info_hash AS ih,
		substr(data_path, instr(data_path, '/files/' || info_hash || '/') + 48) AS name
	FROM torrents
	WHERE substr(data_path, 1, 1) = '/' AND instr(data_path, '/files/' || info_hash || '/') > 0
) AS m
WHERE torrents.info_hash = m.ih AND m.name NOT IN ('', '.', '..') AND instr(m.name, '/') = 0;
