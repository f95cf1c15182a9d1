package web

import (
	"time"

	"github.com/podseed/podseed/store"
)

// deliveryBytes estimates where the bytes of the downloads completed in a
// window came from, for one torrent or summed over several. podseed sees
// two sources, its BitTorrent client's upload and its own HTTP copy (the
// web seed endpoint and /episodes/{id}); what other peers and the
// origin's web seed (the enclosure URL in url-list) served is only the
// remainder, Other.
type deliveryBytes struct {
	// Delivered is Σ downloads completed in the window × the file's size
	// (bittorrentBytes).
	Delivered int64
	// Uploaded is what podseed's BitTorrent client uploaded in the
	// window, WebSeeded what podseed served over HTTP from its copy, both
	// from the swarm samples (counterIncrease).
	Uploaded, WebSeeded int64
}

// newDeliveryBytes estimates one torrent of size bytes over [since, now]
// from its samples, oldest first, the downloads completed in the window
// and when it was created (zero: unknown).
func newDeliveryBytes(samples []store.SwarmSample, size int64, completed int, since, now, created time.Time) deliveryBytes {
	from0 := !created.IsZero() && !created.Before(since) && !created.After(now)
	return deliveryBytes{
		Delivered: bittorrentBytes(completed, size),
		Uploaded:  counterIncrease(samples, since, from0, func(sm store.SwarmSample) int64 { return sm.BytesUploaded }),
		WebSeeded: counterIncrease(samples, since, from0, func(sm store.SwarmSample) int64 { return sm.BytesWebSeeded }),
	}
}

// add sums o into d, saturating.
func (d *deliveryBytes) add(o deliveryBytes) {
	d.Delivered = addSaturating(d.Delivered, max(o.Delivered, 0))
	d.Uploaded = addSaturating(d.Uploaded, max(o.Uploaded, 0))
	d.WebSeeded = addSaturating(d.WebSeeded, max(o.WebSeeded, 0))
}

// Other is Delivered − Uploaded − WebSeeded, not below 0: what other
// peers and the origin's web seed delivered, at most. podseed's uploads
// may exceed it (pieces for downloads that never completed, or whose
// client never announced completion); then it is 0.
func (d deliveryBytes) Other() int64 {
	// Each is ≥ 0, so neither subtraction overflows.
	rest := d.Delivered - d.Uploaded
	if rest <= d.WebSeeded {
		return 0
	}
	return rest - d.WebSeeded
}

// deliveryView is deliveryBytes as the pages show it (formatSize).
type deliveryView struct {
	Delivered, Uploaded, WebSeeded, Other string
}

func (d deliveryBytes) view() deliveryView {
	return deliveryView{
		Delivered: formatSize(d.Delivered), Uploaded: formatSize(d.Uploaded),
		WebSeeded: formatSize(d.WebSeeded), Other: formatSize(d.Other()),
	}
}

// apiDelivery is deliveryBytes in the JSON API, over the last Days days.
type apiDelivery struct {
	Days      int   `json:"days"`
	Completed int   `json:"completed"`
	Delivered int64 `json:"delivered_bytes"`
	Uploaded  int64 `json:"podseed_uploaded_bytes"`
	WebSeeded int64 `json:"podseed_web_seeded_bytes"`
	Other     int64 `json:"other_bytes"`
}

// counterIncrease is how much a cumulative counter of a torrent's samples
// (oldest first; value reads it) grew at or after since: the sum of its
// increments between consecutive samples at or after since, a sample lower
// than the one before it marking a restart from 0 whose own value is the
// increment (as completedSince does). With from0 (the torrent was created
// within the window, so the counter started at 0 in it) the first such
// sample's value counts too; otherwise what the counter grew between the
// last sample before since and the first one after it is not counted.
func counterIncrease(samples []store.SwarmSample, since time.Time, from0 bool, value func(store.SwarmSample) int64) int64 {
	var n int64
	first := true
	var prev int64
	for _, sm := range samples {
		if sm.At.Before(since) {
			continue
		}
		v := max(value(sm), 0)
		switch {
		case first:
			if from0 {
				n = v
			}
			first = false
		case v >= prev:
			n = addSaturating(n, v-prev)
		default:
			n = addSaturating(n, v) // restarted from 0
		}
		prev = v
	}
	return n
}
