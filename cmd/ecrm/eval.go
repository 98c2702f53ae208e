package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecrm/ecrm/internal/recommend"
)

// evalHeader is the header every eval CSV file must start with.
var evalHeader = []string{"timestamp", "visitor_id", "session_id", "item_id", "event"}

// evalRow is one event of an eval CSV file.
type evalRow struct {
	t       time.Time
	visitor string
	session string
	item    string
	kind    recommend.Kind
}

// evalCmd runs `ecrm eval`: it trains a recommend.Model on --train through
// Observe, then, for every session of --test and every position i ≥ 1,
// asks the model's personal recommendations for the prefix 0..i-1 and
// scores the true item at i. The last line of stdout is
// "HR@k=<x> MRR@k=<x> n=<predictions>".
func evalCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ecrm eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := recommend.Config{}.WithDefaults()
	train := fs.String("train", "", "The CSV file of training events, header timestamp,visitor_id,session_id,item_id,event (required, no default).")
	test := fs.String("test", "", "The CSV file of test events, same header; its sessions are scored and never trained on (required, no default).")
	k := fs.Int("k", 20, "How many items each prediction recommends, the cut-off of HR and MRR (default 20).")
	exclCur := fs.Bool("exclude-current", false, "Leave the current (last) item of the prefix out of the recommendations, as a product page's \"similar\" does; by default the model may predict a repeat of it, as session-rec's protocol and reference figures do (default false).")
	neighbors := fs.Int("neighbors", def.Neighbors, fmt.Sprintf("The number of neighbour sessions of session-kNN (default %d).", def.Neighbors))
	sample := fs.Int("sample-size", def.SampleSize, fmt.Sprintf("The number of most recent candidate sessions session-kNN compares (default %d).", def.SampleSize))
	perItem := fs.Int("sessions-per-item", def.SessionsPerItem, fmt.Sprintf("The number of most recent sessions each item remembers (default %d).", def.SessionsPerItem))
	posW := fs.String("position-weighting", def.PositionWeighting.String(), fmt.Sprintf("How the items of the session weigh by position: same, div, quadratic, linear or log (default %s).", def.PositionWeighting))
	matchW := fs.String("match-weighting", def.MatchWeighting.String(), fmt.Sprintf("How a neighbour weighs by the position of its latest shared item: same, div, quadratic, linear or log (default %s).", def.MatchWeighting))
	idf := fs.Float64("idf-weight", def.IDFWeight, fmt.Sprintf("How much rare items are favoured, 0 for not at all (default %g).", def.IDFWeight))
	remind := fs.Float64("remind-weight", def.RemindWeight, fmt.Sprintf("How much the items of the session itself are raised, relative to the best score, 0 for not at all (default %g).", def.RemindWeight))
	seq := fs.Float64("sequence-weight", def.SequenceWeight, fmt.Sprintf("How much the items that followed the latest ones in past sessions add, 0 for nothing (default %g).", def.SequenceWeight))
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: ecrm eval --train TRAIN.csv --test TEST.csv [flags]\n\n"+
			"Trains the recommender on TRAIN and scores its next-item predictions on the sessions of TEST:\n"+
			"for every position i ≥ 1 it recommends k items from the events 0..i-1 and looks for event i.\n"+
			"The last line of the output is HR@k=<hit rate> MRR@k=<mean reciprocal rank> n=<predictions>.\n\nFlags:\n")
		fs.VisitAll(func(f *flag.Flag) { // the help lines state their defaults
			typ, help := flag.UnquoteUsage(f)
			fmt.Fprintf(stderr, "  -%s\n    \t%s\n", strings.TrimSpace(f.Name+" "+typ), help)
		})
	}
	// usage reports a usage error on stderr too: main exits 2 on errUsage
	// without printing it.
	usage := func(format string, args ...any) error {
		err := fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
		fmt.Fprintf(stderr, "ecrm eval: %v\nRun 'ecrm eval -h' for the flags.\n", err)
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if *train == "" || *test == "" {
		return usage("eval needs --train and --test")
	}
	if *k <= 0 || *k > recommend.MaxN {
		return usage("--k must be between 1 and %d", recommend.MaxN)
	}
	off := func(w float64) float64 { // 0 on the command line means off
		if w == 0 {
			return -1
		}
		return w
	}
	cfg := recommend.Config{Neighbors: *neighbors, SampleSize: *sample, SessionsPerItem: *perItem,
		IDFWeight: off(*idf), SequenceWeight: off(*seq), RemindWeight: off(*remind)}
	var err error
	if cfg.PositionWeighting, err = recommend.ParseWeighting(*posW); err != nil {
		return usage("--position-weighting: %w", err)
	}
	if cfg.MatchWeighting, err = recommend.ParseWeighting(*matchW); err != nil {
		return usage("--match-weighting: %w", err)
	}
	model, err := recommend.New(cfg)
	if err != nil {
		return usage("%w", err)
	}

	trainRows, err := readEvalCSV(*train)
	if err != nil {
		return err
	}
	testRows, err := readEvalCSV(*test)
	if err != nil {
		return err
	}
	c := model.Config()
	fmt.Fprintf(stderr, "settings: exclude-current=%v neighbors=%d sample-size=%d sessions-per-item=%d position-weighting=%s match-weighting=%s idf-weight=%g sequence-weight=%g remind-weight=%g\n",
		*exclCur, c.Neighbors, c.SampleSize, c.SessionsPerItem, c.PositionWeighting, c.MatchWeighting, c.IDFWeight, c.SequenceWeight, c.RemindWeight)
	start := time.Now()
	known, err := evalTrain(ctx, model, trainRows)
	if err != nil {
		return err
	}
	st := model.Stats()
	fmt.Fprintf(stderr, "trained on %d events of %s in %v: %d items, %d sessions in memory\n",
		len(trainRows), *train, time.Since(start).Round(time.Millisecond), st.Items, st.Sessions)

	sessions, dropped := evalSessions(testRows, known)
	fmt.Fprintf(stderr, "testing %d sessions of %s (%d events on items absent from training left out)\n", len(sessions), *test, dropped)
	start = time.Now()
	res, err := evalPredict(ctx, model, sessions, *k, *exclCur, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d predictions in %v; %d of them repeat the current item\n",
		res.n, time.Since(start).Round(time.Millisecond), res.repeats)
	if *exclCur && res.n > 0 {
		fmt.Fprintf(stderr, "--exclude-current never recommends those: HR@%d is at most %.4f\n",
			*k, float64(res.n-res.repeats)/float64(res.n))
	}
	hr, mrr := 0.0, 0.0
	if res.n > 0 {
		hr, mrr = float64(res.hits)/float64(res.n), res.rr/float64(res.n)
	}
	_, err = fmt.Fprintf(stdout, "HR@%d=%.4f MRR@%d=%.4f n=%d\n", *k, hr, *k, mrr, res.n)
	return err
}

// readEvalCSV reads an eval CSV file.
func readEvalCSV(path string) ([]evalRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = len(evalHeader)
	r.ReuseRecord = true
	head, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("eval: %s is empty, want the header %s", path, strings.Join(evalHeader, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("eval: %s: %w", path, err)
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff")
	}
	if !slices.Equal(head, evalHeader) {
		return nil, fmt.Errorf("eval: %s: header %q, want %s", path, strings.Join(head, ","), strings.Join(evalHeader, ","))
	}
	var rows []evalRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("eval: %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		row, err := parseEvalRow(rec)
		if err != nil {
			return nil, fmt.Errorf("eval: %s line %d: %w", path, line, err)
		}
		rows = append(rows, row)
	}
}

func parseEvalRow(rec []string) (evalRow, error) {
	ts, err := strconv.ParseFloat(rec[0], 64)
	if err != nil || math.IsNaN(ts) || math.IsInf(ts, 0) || ts <= 0 || ts > 1e11 {
		return evalRow{}, fmt.Errorf("timestamp %q is not a positive number of seconds", rec[0])
	}
	sec := math.Floor(ts)
	row := evalRow{
		t:       time.Unix(int64(sec), int64(math.Round((ts-sec)*1e9))),
		visitor: rec[1], session: rec[2], item: rec[3],
	}
	if row.session == "" || row.item == "" {
		return evalRow{}, errors.New("empty session_id or item_id")
	}
	if row.kind, err = recommend.ParseKind(rec[4]); err != nil {
		return evalRow{}, fmt.Errorf("event: %w", err)
	}
	in := recommend.Interaction{Visitor: row.visitor, Session: row.session, Item: row.item, Kind: row.kind, Time: row.t}
	if err := in.Validate(); err != nil {
		return evalRow{}, err
	}
	return row, nil
}

// evalTrain feeds the training events to the model in time order, as a
// stream of hits would, and returns the set of items trained on.
func evalTrain(ctx context.Context, m *recommend.Model, rows []evalRow) (map[string]bool, error) {
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return rows[a].t.Compare(rows[b].t) })
	known := make(map[string]bool)
	for n, i := range order {
		if n%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r := rows[i]
		in := recommend.Interaction{Visitor: r.visitor, Session: r.session, Item: r.item, Kind: r.kind, Time: r.t}
		if err := m.Observe(in); err != nil {
			return nil, fmt.Errorf("eval: train: %w", err)
		}
		known[r.item] = true
	}
	m.Refresh()
	return known, nil
}

// evalSessions groups the test events by session, each in time order (file
// order among equal times), leaving out events on items never trained on.
func evalSessions(rows []evalRow, known map[string]bool) (sessions [][]string, dropped int) {
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := strings.Compare(rows[a].session, rows[b].session); c != 0 {
			return c
		}
		return rows[a].t.Compare(rows[b].t)
	})
	var cur []string
	for p, i := range order {
		r := rows[i]
		if p > 0 && rows[order[p-1]].session != r.session {
			sessions, cur = append(sessions, cur), nil
		}
		if !known[r.item] {
			dropped++
			continue
		}
		cur = append(cur, r.item)
	}
	if len(order) > 0 {
		sessions = append(sessions, cur)
	}
	return sessions, dropped
}

// evalResult sums the predictions.
type evalResult struct {
	n, hits, repeats int
	rr               float64
}

// evalPredict scores every prediction of the sessions, in parallel; the
// sums are taken in session order so that the result is deterministic.
func evalPredict(ctx context.Context, m *recommend.Model, sessions [][]string, k int, exclCur bool, stderr io.Writer) (evalResult, error) {
	per := make([]evalResult, len(sessions))
	var next, done atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex // serialises progress lines
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				s := int(next.Add(1) - 1)
				if s >= len(sessions) || ctx.Err() != nil {
					return
				}
				items, r := sessions[s], &per[s]
				for i := 1; i < len(items); i++ {
					req := recommend.Request{Type: recommend.Personal, Context: items[:i], N: k}
					if exclCur {
						req.Item = items[i-1]
					}
					r.n++
					if items[i] == items[i-1] {
						r.repeats++
					}
					for rank, sc := range m.Recommend(req) {
						if sc.Item == items[i] {
							r.hits++
							r.rr += 1 / float64(rank+1)
							break
						}
					}
				}
				if d := done.Add(1); d%1000 == 0 {
					mu.Lock()
					fmt.Fprintf(stderr, "%d of %d sessions scored\n", d, len(sessions))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return evalResult{}, err
	}
	var sum evalResult
	for _, r := range per {
		sum.n += r.n
		sum.hits += r.hits
		sum.repeats += r.repeats
		sum.rr += r.rr
	}
	return sum, nil
}
