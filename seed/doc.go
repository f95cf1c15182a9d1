// Package seed turns podcast enclosures into torrents and keeps them seeded.
//
// It owns four things:
//
//   - ingesting an enclosure: downloading it once while hashing its pieces,
//     then building the metainfo with the enclosure URL as web seed (BEP 19);
//   - the BitTorrent [Client], a wrapper around one anacrolix/torrent client
//     that seeds every complete file in place (no copy) and never downloads,
//     or, for a torrent added with [Client.AddTorrentOnDemand], seeds with no
//     local copy, fetching each piece a peer asks for from the origin by a
//     Range request, verified, into a bounded [PieceCache];
//   - the built-in HTTP [Tracker] (BEP 3 announce, BEP 23 compact peers,
//     BEP 7 IPv6 peers, BEP 48 scrape);
//   - swarm statistics: [Client.Stats] for what podseed's own client sees,
//     [Tracker.Scrape] for the swarm as the tracker sees it.
//
// # Memory-mapped file IO
//
// anacrolix/torrent v1.59.1 reads seeded files through mmap unless the
// environment variable TORRENT_STORAGE_DEFAULT_FILE_IO=classic is set when the
// process starts (the storage package reads it in its init function; no
// option in storage.NewFileClientOpts selects it). With mmap, resident memory
// grows with the bytes read (about 1 GB for 1,000 torrents after hashing,
// against about 50 MB with classic IO), and a mapping is not released when a
// torrent is dropped, only when the process exits. Deployments should set
// TORRENT_STORAGE_DEFAULT_FILE_IO=classic.
package seed
