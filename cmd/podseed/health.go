package main

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// handleHealthz answers 200 "ok" when the process is up, the database is
// writable and the torrent client is listening, else 503 with what is
// wrong (details go to the log, not the response).
func (a *App) handleHealthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	var problems []string
	if err := a.store.CheckWritable(ctx); err != nil {
		a.log.Error("health check", "err", err)
		problems = append(problems, "database not writable")
	}
	if a.client.ListenPort() == 0 {
		problems = append(problems, "torrent client not listening")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(strings.Join(problems, "\n") + "\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
