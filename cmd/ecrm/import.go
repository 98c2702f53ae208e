package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ecrm/ecrm/internal/catalog"
	"github.com/ecrm/ecrm/personalize"
)

// Settings of `ecrm import catalog` that are not flags.
var (
	// importStdin is what FILE "-" reads.
	importStdin io.Reader = os.Stdin
	// importRetryBase is the first back-off before a batch is sent again;
	// each retry doubles it.
	importRetryBase = 500 * time.Millisecond
)

const (
	importAttempts     = 6
	importMaxBackoff   = 10 * time.Second
	importBatchBytes   = 8 << 20 // half the server's body limit
	importShowRejected = 20
	importTimeout      = 2 * time.Minute
)

// importCmd runs `ecrm import <kind> ...`; catalog is the one kind.
func importCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, "Usage: ecrm import catalog [flags] FILE\n\nRun 'ecrm import catalog -h' for the flags.")
		if len(args) == 0 {
			return fmt.Errorf("%w: say what to import: ecrm import catalog FILE", errUsage)
		}
		return flag.ErrHelp
	}
	if args[0] != "catalog" {
		return fmt.Errorf("%w: cannot import %q: ecrm import catalog FILE is the one import", errUsage, args[0])
	}
	return importCatalog(ctx, args[1:], getenv, stdout, stderr)
}

// importCatalog runs `ecrm import catalog FILE`: it reads a CSV, NDJSON or
// JSON array file of items with the server's own parser, sends the valid
// items in NDJSON batches to POST /v1/catalog, retrying a batch on
// connection errors and 5xx answers, and shows its progress on stderr. It
// prints `imported=N rejected=M` on stdout and fails when any line was
// rejected.
func importCatalog(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ecrm import catalog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(name, env, def, help string) *string {
		if v := getenv(env); v != "" {
			def = v
		}
		return fs.String(name, def, help+" Environment: "+env+".")
	}
	defBatch := 1000
	if v, err := strconv.Atoi(getenv("ECRM_IMPORT_BATCH")); err == nil {
		defBatch = v
	}
	target := str("target", "ECRM_IMPORT_TARGET", "http://127.0.0.1:8080", "The base URL of ecrm run or ecrm personalize; batches go to <target>/v1/catalog (default http://127.0.0.1:8080).")
	token := fs.String("token", "", "The admin token. Prefer ECRM_ADMIN_TOKEN: a flag shows in ps. Default: ECRM_ADMIN_TOKEN, else the token ecrm run keeps in <ECRM_DATA_DIR or ./data>/admin-token.")
	batch := fs.Int("batch", defBatch, fmt.Sprintf("How many items one request carries, 1 to %d (default 1000). Environment: ECRM_IMPORT_BATCH.", personalize.MaxCatalogItems))
	format := str("format", "ECRM_IMPORT_FORMAT", "auto", "The file's format: csv, ndjson, json (an array) or auto: by the file's extension (.csv, .ndjson, .jsonl, .json), else by its first character (default auto).")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: ecrm import catalog [flags] FILE\n\n"+
			"Imports items (id, name, url, image, price, category, available) into the catalog from a CSV file\n"+
			"with a header row, an NDJSON file (one JSON object a line, Segment's product fields) or a JSON array;\n"+
			"FILE - reads standard input. Imported items override what was learned from product events; an item\n"+
			"with available=false is never recommended. Progress goes to stderr, the summary\n"+
			"(imported=N rejected=M) to stdout; the exit status is 1 when any line was rejected.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	// Flags may come before or after FILE.
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}

	var bad []error
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad = append(bad, fmt.Errorf("--target %q is not an http(s) URL", *target))
	}
	if *batch < 1 || *batch > personalize.MaxCatalogItems {
		bad = append(bad, fmt.Errorf("--batch must be between 1 and %d", personalize.MaxCatalogItems))
	}
	switch *format {
	case "auto", "csv", "ndjson", "json":
	default:
		bad = append(bad, fmt.Errorf("--format %q is not auto, csv, ndjson or json", *format))
	}
	if len(files) != 1 {
		bad = append(bad, errors.New("name one FILE to import (- for standard input)"))
	}
	if *token == "" {
		*token = importToken(getenv)
	}
	if *token == "" {
		bad = append(bad, errors.New("no admin token: set ECRM_ADMIN_TOKEN"))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %w", errUsage, errors.Join(bad...))
	}

	var in io.Reader
	size := int64(-1)
	name := files[0]
	if name == "-" {
		in = importStdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		in = f
	}
	counted := &countingReader{r: in}
	br := bufio.NewReaderSize(counted, 64<<10)
	fm, err := importFormat(*format, name, br)
	if err != nil {
		return err
	}

	// The progress display and the retry messages share stderr.
	term := simIsTerminal(stderr)
	stderr = &lockedWriter{w: stderr}
	im := &importer{
		target: strings.TrimSuffix(*target, "/") + "/v1/catalog",
		token:  *token,
		client: &http.Client{Timeout: importTimeout},
		stderr: stderr,
	}
	prog := startImportProgress(stderr, term, size, counted, im)
	runErr := im.run(ctx, catalog.NewDecoder(br, fm), *batch)
	prog.stop(runErr == nil)

	rejected := im.rejected.Load()
	// A batch's lines the server rejected come after the later lines
	// rejected here.
	slices.SortStableFunc(im.shown, func(a, b personalize.Rejection) int { return a.Line - b.Line })
	for _, r := range im.shown {
		fmt.Fprintf(stderr, "line %d: %s\n", r.Line, r.Error)
	}
	if more := int(rejected) - len(im.shown); more > 0 {
		fmt.Fprintf(stderr, "... and %d more rejected lines\n", more)
	}
	fmt.Fprintf(stdout, "imported=%d rejected=%d\n", im.imported.Load(), rejected)
	if runErr != nil {
		return runErr
	}
	if rejected > 0 {
		return fmt.Errorf("%d lines of %s rejected", rejected, name)
	}
	return nil
}

// importToken returns ECRM_ADMIN_TOKEN, else the token `ecrm run` keeps in
// its data dir, else "".
func importToken(getenv func(string) string) string {
	if t := getenv("ECRM_ADMIN_TOKEN"); t != "" {
		return t
	}
	dir := getenv("ECRM_DATA_DIR")
	if dir == "" {
		dir = "./data"
	}
	data, err := os.ReadFile(filepath.Join(dir, "admin-token"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// importFormat picks the file's format: the flag's, else by extension,
// else by the first character that is not a space or byte order mark.
func importFormat(flagValue, name string, br *bufio.Reader) (catalog.Format, error) {
	switch flagValue {
	case "csv":
		return catalog.CSV, nil
	case "ndjson":
		return catalog.NDJSON, nil
	case "json":
		return catalog.JSON, nil
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return catalog.CSV, nil
	case ".ndjson", ".jsonl":
		return catalog.NDJSON, nil
	}
	head, err := br.Peek(4096)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return 0, fmt.Errorf("read %s: %w", name, err)
	}
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\ufeff")), " \t\r\n")
	switch {
	case len(head) > 0 && head[0] == '[':
		return catalog.JSON, nil
	case len(head) > 0 && head[0] == '{':
		return catalog.NDJSON, nil
	case strings.EqualFold(filepath.Ext(name), ".json"):
		return catalog.JSON, nil // and its error will say what is wrong
	}
	return catalog.CSV, nil
}

// importer sends batches and keeps the counts.
type importer struct {
	target, token string
	client        *http.Client
	stderr        io.Writer

	imported, rejected atomic.Int64
	shown              []personalize.Rejection // the first rejected lines
}

func (im *importer) reject(line int, msg string) {
	im.rejected.Add(1)
	if len(im.shown) < importShowRejected {
		im.shown = append(im.shown, personalize.Rejection{Line: line, Error: msg})
	}
}

// run reads every record and sends the valid items in batches of size at
// most (and at most importBatchBytes).
func (im *importer) run(ctx context.Context, d *catalog.Decoder, size int) error {
	var body []byte
	var lines []int // the file's line of each line of body
	flush := func() error {
		if len(lines) == 0 {
			return nil
		}
		err := im.send(ctx, body, lines)
		body, lines = body[:0], lines[:0]
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := d.Next()
		if errors.Is(err, io.EOF) {
			return flush()
		}
		if err != nil {
			// What was read before the broken part still goes.
			return errors.Join(flush(), err)
		}
		if rec.Err != nil {
			im.reject(rec.Line, rec.Err.Error())
			continue
		}
		n := len(body)
		if body, err = catalog.AppendNDJSON(body, rec.Item); err != nil {
			im.reject(rec.Line, err.Error())
			continue
		}
		if len(body) > importBatchBytes && len(lines) > 0 {
			line := slices.Clone(body[n:])
			body = body[:n]
			if err := flush(); err != nil {
				return err
			}
			body = append(body, line...)
		}
		lines = append(lines, rec.Line)
		if len(lines) >= size {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// send posts one batch, retrying on connection errors, 429 and 5xx with
// exponential back-off. Sending a batch again is harmless: an import
// replaces the item.
func (im *importer) send(ctx context.Context, body []byte, lines []int) error {
	backoff := importRetryBase
	var last error
	for attempt := 1; attempt <= importAttempts; attempt++ {
		res, retry, err := im.post(ctx, body)
		if err == nil {
			im.imported.Add(int64(res.Accepted))
			for _, r := range res.Rejected {
				line := r.Line
				if line >= 1 && line <= len(lines) {
					line = lines[line-1]
				}
				im.reject(line, r.Error)
			}
			return nil
		}
		if !retry || ctx.Err() != nil {
			return err
		}
		last = err
		if attempt == importAttempts {
			break
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		fmt.Fprintf(im.stderr, "batch from line %d: %v; sending it again in %v\n", lines[0], err, wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(backoff*2, importMaxBackoff)
	}
	return fmt.Errorf("batch of lines %d to %d not stored after %d attempts: %w", lines[0], lines[len(lines)-1], importAttempts, last)
}

// post sends one batch once. retry says whether sending it again may help.
func (im *importer) post(ctx context.Context, body []byte) (res personalize.ImportResult, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, im.target, bytes.NewReader(body))
	if err != nil {
		return res, false, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+im.token)
	req.Header.Set("User-Agent", "ecrm-import/"+version)
	resp, err := im.client.Do(req)
	if err != nil {
		return res, true, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return res, true, fmt.Errorf("read the answer: %w", err)
	}
	var answer struct {
		personalize.ImportResult
		Error string `json:"error"`
	}
	jsonErr := json.Unmarshal(raw, &answer)
	switch {
	case resp.StatusCode == http.StatusOK && jsonErr == nil:
		return answer.ImportResult, false, nil
	case resp.StatusCode == http.StatusBadRequest && jsonErr == nil && len(answer.Rejected) > 0:
		// The server rejected every line (its rules may be newer than
		// this binary's): they count as rejected, the import goes on.
		return answer.ImportResult, false, nil
	}
	msg := answer.Error
	if jsonErr != nil || msg == "" {
		msg = strings.TrimSpace(string(raw[:min(len(raw), 200)]))
	}
	err = fmt.Errorf("%s answered %s: %s", im.target, resp.Status, msg)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return res, true, err
	case resp.StatusCode == http.StatusNotFound:
		return res, false, fmt.Errorf("%w (is it ecrm run or ecrm personalize?)", err)
	}
	return res, false, err
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// importProgress shows how far the import is: a bar over the file's bytes
// on a terminal, a plain line every few seconds otherwise, and the last
// state when it ends.
type importProgress struct {
	done     chan struct{}
	stopped  chan struct{}
	finished bool // set before done is closed: the whole file was read
}

// importProgressEvery is how often a plain progress line is written when
// stderr is not a terminal.
var importProgressEvery = 5 * time.Second

func startImportProgress(stderr io.Writer, term bool, size int64, in *countingReader, im *importer) *importProgress {
	p := &importProgress{done: make(chan struct{}), stopped: make(chan struct{})}
	start := time.Now()
	rate := func() float64 {
		if s := time.Since(start).Seconds(); s > 0 {
			return float64(im.imported.Load()) / s
		}
		return 0
	}
	var bar *progressbar.ProgressBar
	every := importProgressEvery
	if term {
		every = 200 * time.Millisecond
		bar = progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetDescription("catalog"),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }),
		)
	}
	describe := func() string {
		return fmt.Sprintf("%d imported, %d rejected, %.0f items/s", im.imported.Load(), im.rejected.Load(), rate())
	}
	show := func() {
		if bar != nil {
			bar.Describe(describe())
			_ = bar.Set64(in.n.Load())
			return
		}
		read := fmtBytes(in.n.Load())
		if size >= 0 {
			read += " of " + fmtBytes(size)
		}
		fmt.Fprintf(stderr, "import: %s read, %s\n", read, describe())
	}
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				show() // the last state: also in a log, where no tick came before the end
				if bar != nil {
					if p.finished && size >= 0 {
						_ = bar.Finish()
					} else {
						_ = bar.Exit()
					}
				}
				return
			case <-t.C:
				show()
			}
		}
	}()
	return p
}

// stop ends the display; finished says the whole file was read.
func (p *importProgress) stop(finished bool) {
	p.finished = finished
	close(p.done)
	<-p.stopped
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
