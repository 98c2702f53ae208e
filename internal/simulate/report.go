package simulate

import (
	"fmt"
	"io"
	"time"
)

// String returns the progress as one line: elapsed time, events sent,
// the current rate, errors and the time left.
func (p Progress) String() string {
	eta := "ETA -"
	switch {
	case p.Done:
		eta = "done"
	case p.ETA >= 0:
		eta = "ETA " + p.ETA.Round(time.Second).String()
	}
	return fmt.Sprintf("%7s  sent %d events  %.0f/s  errors %d  %s",
		p.Elapsed.Round(100*time.Millisecond), p.Sent, p.Rate, p.Errors, eta)
}

// WriteSummary writes what a run sent and how the collector answered, and
// what the generator simulated.
func WriteSummary(w io.Writer, r Result, st Stats, days int) error {
	ew := &errWriter{w: w}
	ew.printf("sent       %d events in %d requests over %s (%.1f events/s, target %g)\n",
		r.Sent, r.Requests, r.Elapsed.Round(time.Millisecond), r.Achieved, r.Rate)
	ew.printf("accepted   %d\n", r.Accepted)
	ew.printf("rejected   %d\n", r.Rejected)
	if r.Dropped > 0 {
		ew.printf("dropped    %d (valid, not stored by the site's privacy policy)\n", r.Dropped)
	}
	ew.printf("errors     %d requests (%d events)\n", r.Errors, r.Failed)
	ew.printf("latency    p50 %s  p99 %s  max %s\n", short(r.P50), short(r.P99), short(r.Max))
	ew.printf("simulated  %d sessions (%d of bots) of %d visitors over %d days: %d orders, %.2f %s, %d customers, %d with an account\n",
		st.Sessions, st.BotSessions, st.Visitors, days, st.Orders, st.Revenue, st.Currency, st.Customers, st.Registered)
	if r.FirstError != "" {
		ew.printf("first error: %s\n", r.FirstError)
	}
	if r.Sent > 0 && r.Elapsed > 2*time.Second && r.Achieved < 0.9*r.Rate {
		ew.printf("note: %.1f events/s is below the target %g: the collector or this machine could not keep up; more --concurrency may help.\n", r.Achieved, r.Rate)
	}
	return ew.err
}

// short formats a latency with a precision that suits it.
func short(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
