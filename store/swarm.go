package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// SwarmSample is a torrent's swarm statistics at one point in time, for the
// dashboard's charts.
//
// Samples are stored at 1-minute resolution. DownsampleSwarmSamples folds
// minute points older than 24 hours into hourly points (one per torrent and
// UTC clock hour) and deletes hourly points older than 90 days. An hourly
// point holds the maximum of Seeders, Leechers, Peers and Availability over
// its minute points, and the Completed, BytesUploaded and BytesWebSeeded of
// the newest of them, whose time is its At.
type SwarmSample struct {
	InfoHash string    // 40 lower-case hex characters; the torrent must exist
	At       time.Time // UTC, truncated to the minute

	// Seeders, Leechers and Completed are the tracker's scrape counts:
	// peers with the whole file, peers without it, and downloads
	// completed so far.
	Seeders, Leechers, Completed int

	Peers int // peers connected to podseed's client

	// Availability is the torrent's distributed copies among the peers
	// connected to podseed's client, not counting podseed's own copy: the
	// smallest number of those peers having any one piece, plus the share
	// of pieces that more peers have. 2.25 means every piece is on at
	// least two peers and a quarter of them on three or more; 0 with no
	// peers (or none having every piece between them).
	Availability float64

	// BytesUploaded is the number of bytes podseed's client has uploaded
	// for this torrent, cumulative over restarts (a counter, not a rate;
	// cmd/podseed adds the newest sample of earlier runs to the client's
	// count, which starts from 0).
	BytesUploaded int64

	// BytesWebSeeded is the number of response-body bytes podseed served
	// over HTTP from its own copy of this torrent's file, as a web seed
	// (/webseed/{infohash}/{name}, and /episodes/{id} when it serves the
	// copy itself), cumulative over restarts (a counter, not a rate).
	BytesWebSeeded int64
}

// How long swarm samples are kept at each resolution.
const (
	minuteRetention = 24 * time.Hour      // then folded into hourly points
	hourRetention   = 90 * 24 * time.Hour // then deleted
)

// Statements on swarm_samples, named so a test can check their query plans.
// The resolution column is in seconds: 60 for minute points, 3600 for hourly
// points.
const (
	// swarmSampleColumns selects a row aliased s, for scanSwarmSample.
	swarmSampleColumns = "s.info_hash, s.at, s.seeders, s.leechers, s.completed, s.peers, s.bytes_uploaded, s.availability, s.bytes_web_seeded"

	// upsertMinuteSample writes a minute point. A second sample of the same
	// torrent and minute replaces the first; one at the time of an hourly
	// point (a late sample of a folded hour) is dropped.
	upsertMinuteSample = `INSERT INTO swarm_samples
		(info_hash, at, resolution, seeders, leechers, completed, peers, bytes_uploaded, availability, bytes_web_seeded)
		VALUES (?1, ?2, 60, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
		ON CONFLICT (info_hash, at) DO UPDATE SET
			seeders = ?3, leechers = ?4, completed = ?5, peers = ?6, bytes_uploaded = ?7, availability = ?8,
			bytes_web_seeded = ?9
		WHERE resolution = 60`

	listSwarmSamples = "SELECT " + swarmSampleColumns + ` FROM swarm_samples s
		WHERE s.info_hash = ? AND s.at >= ? ORDER BY s.at`

	// latestSwarmSamples goes through torrents so that it reads one row per
	// torrent, not every torrent's series; CROSS JOIN makes SQLite keep
	// torrents as the outer loop.
	latestSwarmSamples = "SELECT " + swarmSampleColumns + ` FROM torrents t
		CROSS JOIN swarm_samples s
		WHERE s.info_hash = t.info_hash
		  AND s.at = (SELECT max(x.at) FROM swarm_samples x WHERE x.info_hash = t.info_hash)`

	selectMinutesToFold = "SELECT " + swarmSampleColumns + ` FROM swarm_samples s
		WHERE s.resolution = 60 AND s.at < ?`
	deleteMinutesToFold = "DELETE FROM swarm_samples WHERE resolution = 60 AND at < ?"

	// selectHourPoint finds the hourly point of a torrent and hour
	// [?2, ?3), made by an earlier fold of the same hour.
	selectHourPoint = "SELECT " + swarmSampleColumns + ` FROM swarm_samples s
		WHERE s.info_hash = ?1 AND s.at >= ?2 AND s.at < ?3 AND s.resolution = 3600`
	deleteHourPoint = `DELETE FROM swarm_samples
		WHERE info_hash = ?1 AND at >= ?2 AND at < ?3 AND resolution = 3600`
	insertHourPoint = `INSERT INTO swarm_samples
		(info_hash, at, resolution, seeders, leechers, completed, peers, bytes_uploaded, availability, bytes_web_seeded)
		VALUES (?, ?, 3600, ?, ?, ?, ?, ?, ?, ?)`

	deleteExpiredHours = "DELETE FROM swarm_samples WHERE resolution = 3600 AND at < ?"
)

// scanSwarmSample scans a row selected with swarmSampleColumns.
func scanSwarmSample(row rowScanner) (SwarmSample, error) {
	var (
		sm SwarmSample
		at sql.NullInt64
	)
	if err := row.Scan(&sm.InfoHash, &at, &sm.Seeders, &sm.Leechers, &sm.Completed, &sm.Peers, &sm.BytesUploaded, &sm.Availability, &sm.BytesWebSeeded); err != nil {
		return SwarmSample{}, err
	}
	sm.At = fromNanos(at)
	return sm, nil
}

// validate checks what CreateSwarmSamples needs of sm, whose InfoHash is
// lower case already.
func (sm SwarmSample) validate() error {
	switch {
	case !validInfoHash(sm.InfoHash):
		return fmt.Errorf("infohash %q is not 40 hex characters", sm.InfoHash)
	case sm.At.IsZero():
		return errors.New("zero time")
	case sm.Seeders < 0, sm.Leechers < 0, sm.Completed < 0, sm.Peers < 0, sm.BytesUploaded < 0, sm.BytesWebSeeded < 0:
		return fmt.Errorf("negative count in %+v", sm)
	case !(sm.Availability >= 0) || math.IsInf(sm.Availability, 1):
		return fmt.Errorf("availability %v is not a finite number ≥ 0", sm.Availability)
	}
	return nil
}

// CreateSwarmSamples records samples as minute points, in one transaction:
// all of them or, on error, none. Each At is truncated to the minute (UTC);
// of two samples of one torrent in the same minute, the later one in samples
// (or the later call) wins. A sample of a minute that is an hourly point
// already (see DownsampleSwarmSamples) is dropped. Upper-case infohashes are
// accepted. It returns an error wrapping ErrNotFound if a sample's torrent
// does not exist, and an error if a sample has no time, a negative count or
// an Availability that is negative, infinite or NaN.
func (s *Store) CreateSwarmSamples(ctx context.Context, samples []SwarmSample) error {
	if len(samples) == 0 {
		return nil
	}
	rows := make([]SwarmSample, len(samples))
	for i, sm := range samples {
		sm.InfoHash = strings.ToLower(sm.InfoHash)
		if err := sm.validate(); err != nil {
			return fmt.Errorf("create swarm samples: sample %d: %w", i, err)
		}
		sm.At = storedTime(sm.At).Truncate(time.Minute)
		rows[i] = sm
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		exists, err := tx.PrepareContext(ctx, "SELECT 1 FROM torrents WHERE info_hash = ?")
		if err != nil {
			return err
		}
		defer exists.Close()
		upsert, err := tx.PrepareContext(ctx, upsertMinuteSample)
		if err != nil {
			return err
		}
		defer upsert.Close()

		known := make(map[string]bool)
		for _, sm := range rows {
			if !known[sm.InfoHash] {
				var one int
				err := exists.QueryRowContext(ctx, sm.InfoHash).Scan(&one)
				if errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("torrent %s: %w", sm.InfoHash, ErrNotFound)
				} else if err != nil {
					return err
				}
				known[sm.InfoHash] = true
			}
			if _, err := upsert.ExecContext(ctx, sm.InfoHash, nanos(sm.At),
				sm.Seeders, sm.Leechers, sm.Completed, sm.Peers, sm.BytesUploaded, sm.Availability, sm.BytesWebSeeded); err != nil {
				return fmt.Errorf("torrent %s at %s: %w", sm.InfoHash, sm.At.Format(time.RFC3339), err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create swarm samples: %w", err)
	}
	return nil
}

// ListSwarmSamples returns the samples of the torrent with the given hex
// infohash (upper case is accepted) whose At is at or after since, oldest
// first: hourly points where minute points were folded away and minute points
// after them, in one series. A zero since means all of them. An unknown torrent has none: the
// result is empty, not an error.
func (s *Store) ListSwarmSamples(ctx context.Context, infoHash string, since time.Time) ([]SwarmSample, error) {
	from := any(int64(math.MinInt64))
	if !since.IsZero() {
		from = nanos(since)
	}
	rows, err := s.db.QueryContext(ctx, listSwarmSamples, strings.ToLower(infoHash), from)
	if err != nil {
		return nil, fmt.Errorf("list swarm samples of %s: %w", infoHash, err)
	}
	defer rows.Close()
	var samples []SwarmSample
	for rows.Next() {
		sm, err := scanSwarmSample(rows)
		if err != nil {
			return nil, fmt.Errorf("list swarm samples of %s: %w", infoHash, err)
		}
		samples = append(samples, sm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list swarm samples of %s: %w", infoHash, err)
	}
	return samples, nil
}

// LatestSwarmSamples returns the newest sample of every torrent that has
// one, minute or hourly point, keyed by infohash. The map is empty, not nil,
// when there are none.
func (s *Store) LatestSwarmSamples(ctx context.Context) (map[string]SwarmSample, error) {
	rows, err := s.db.QueryContext(ctx, latestSwarmSamples)
	if err != nil {
		return nil, fmt.Errorf("latest swarm samples: %w", err)
	}
	defer rows.Close()
	latest := make(map[string]SwarmSample)
	for rows.Next() {
		sm, err := scanSwarmSample(rows)
		if err != nil {
			return nil, fmt.Errorf("latest swarm samples: %w", err)
		}
		latest[sm.InfoHash] = sm
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latest swarm samples: %w", err)
	}
	return latest, nil
}

// hourKey identifies the hourly point of a torrent and UTC clock hour.
type hourKey struct {
	infoHash string
	hour     int64 // start of the hour, unix nanoseconds
}

// foldSample folds sm into the hourly point acc: the maximum of the gauges
// (Seeders, Leechers, Peers, Availability), the counters (Completed,
// BytesUploaded, BytesWebSeeded) and At of whichever is newer. The order of folding does not matter.
func foldSample(acc, sm SwarmSample) SwarmSample {
	out := sm
	if acc.At.After(sm.At) {
		out = acc
	}
	out.Seeders = max(acc.Seeders, sm.Seeders)
	out.Leechers = max(acc.Leechers, sm.Leechers)
	out.Peers = max(acc.Peers, sm.Peers)
	out.Availability = max(acc.Availability, sm.Availability)
	return out
}

// DownsampleSwarmSamples thins the swarm statistics, in one transaction.
// Minute points older than 24 hours before now (At < now-24h) are folded
// into hourly points, one per torrent and UTC clock hour (see SwarmSample),
// and deleted; when only part of an hour was old enough, the rest is folded
// into the same hourly point by a later call. Then hourly points older than
// 90 days (At < now-90×24h) are deleted. Calling it again with the same now
// changes nothing. Call it from a periodic job, say hourly.
func (s *Store) DownsampleSwarmSamples(ctx context.Context, now time.Time) error {
	if now.IsZero() {
		return errors.New("downsample swarm samples: zero time")
	}
	foldBefore := nanos(now.Add(-minuteRetention))
	expireBefore := nanos(now.Add(-hourRetention))
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		hours, err := foldMinutes(ctx, tx, foldBefore)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, deleteMinutesToFold, foldBefore); err != nil {
			return fmt.Errorf("delete folded minute points: %w", err)
		}
		if err := writeHours(ctx, tx, hours); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, deleteExpiredHours, expireBefore); err != nil {
			return fmt.Errorf("delete expired hourly points: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("downsample swarm samples: %w", err)
	}
	return nil
}

// foldMinutes reads the minute points before foldBefore (unix nanoseconds)
// and folds them into one point per torrent and hour.
func foldMinutes(ctx context.Context, tx *sql.Tx, foldBefore any) (map[hourKey]SwarmSample, error) {
	rows, err := tx.QueryContext(ctx, selectMinutesToFold, foldBefore)
	if err != nil {
		return nil, fmt.Errorf("read minute points: %w", err)
	}
	defer rows.Close()
	hours := make(map[hourKey]SwarmSample)
	for rows.Next() {
		sm, err := scanSwarmSample(rows)
		if err != nil {
			return nil, fmt.Errorf("read minute points: %w", err)
		}
		k := hourKey{sm.InfoHash, sm.At.Truncate(time.Hour).UnixNano()}
		if acc, ok := hours[k]; ok {
			sm = foldSample(acc, sm)
		}
		hours[k] = sm
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read minute points: %w", err)
	}
	return hours, nil
}

// writeHours merges each of hours with the hourly point an earlier call made
// of the same torrent and hour, if any, and writes it. The minute points
// folded into hours must be deleted already.
func writeHours(ctx context.Context, tx *sql.Tx, hours map[hourKey]SwarmSample) error {
	keys := make([]hourKey, 0, len(hours))
	for k := range hours {
		keys = append(keys, k)
	}
	// A fixed order makes a run's writes reproducible.
	slices.SortFunc(keys, func(a, b hourKey) int {
		return cmp.Or(strings.Compare(a.infoHash, b.infoHash), cmp.Compare(a.hour, b.hour))
	})
	for _, k := range keys {
		sm := hours[k]
		end := k.hour + int64(time.Hour)
		old, err := scanSwarmSample(tx.QueryRowContext(ctx, selectHourPoint, k.infoHash, k.hour, end))
		switch {
		case err == nil:
			sm = foldSample(old, sm)
			if _, err := tx.ExecContext(ctx, deleteHourPoint, k.infoHash, k.hour, end); err != nil {
				return fmt.Errorf("replace hourly point of %s: %w", k.infoHash, err)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read hourly point of %s: %w", k.infoHash, err)
		}
		if _, err := tx.ExecContext(ctx, insertHourPoint, sm.InfoHash, nanos(sm.At),
			sm.Seeders, sm.Leechers, sm.Completed, sm.Peers, sm.BytesUploaded, sm.Availability, sm.BytesWebSeeded); err != nil {
			return fmt.Errorf("write hourly point of %s: %w", k.infoHash, err)
		}
	}
	return nil
}
