package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
)

// WriteFeedRenderInputs writes to w a canonical encoding of what rendering
// feed feedID's republished and torrent feeds reads from its ready episodes
// and their torrents, in ListFeedTorrents order: every column of the
// episodes, and of each one's torrent the columns that change after it is
// created (web seed withheld, source and resolved URL, dead mark, retired,
// publisher's URL), read from the covering index torrents_render_inputs; the
// rest of a torrent row is immutable for its infohash, and reading it would
// read its metainfo blob (tens of KiB, stored before the other columns).
// evicted_at is not shown in feeds. Feeding w into a hash gives a cheap
// content key for a rendering. A mutable column added to what renderings
// read must be added here and to that index. An unknown feed writes nothing.
func (s *Store) WriteFeedRenderInputs(ctx context.Context, feedID int64, w io.Writer) error {
	rows, err := s.db.QueryContext(ctx, `SELECT e.id, e.guid, e.title, e.enclosure_url, e.enclosure_length,
			e.enclosure_type, e.published_at, e.info_hash, e.created_at,
			t.web_seed_withheld, t.source_url, t.resolved_url, t.web_seed_dead_at, t.retired_at, t.publisher_url
		FROM episodes e
		LEFT JOIN torrents t INDEXED BY torrents_render_inputs ON t.info_hash = e.info_hash
		WHERE e.feed_id = ? AND e.state = 'ready'
		ORDER BY e.published_at DESC NULLS LAST, e.id DESC`, feedID)
	if err != nil {
		return fmt.Errorf("read render inputs of feed %d: %w", feedID, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("read render inputs of feed %d: %w", feedID, err)
	}
	vals := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	var hdr [9]byte
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read render inputs of feed %d: %w", feedID, err)
		}
		for _, v := range vals {
			// A NULL and an empty value differ; each value is length-prefixed.
			hdr[0] = 0
			if v != nil {
				hdr[0] = 1
			}
			binary.BigEndian.PutUint64(hdr[1:], uint64(len(v)))
			if _, err := w.Write(hdr[:]); err != nil {
				return err
			}
			if _, err := w.Write(v); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read render inputs of feed %d: %w", feedID, err)
	}
	return nil
}
