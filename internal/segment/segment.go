// Package segment holds segments: named boolean expressions over a
// profile's variables (see profile.Vars), written in the expression
// language of github.com/expr-lang/expr, for example
//
//	interest["shoes"] > 3 && days_since_last_order > 30
//
// A Registry keeps the compiled segments and evaluates a profile against
// all of them. It imports no infrastructure.
package segment

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/ecrm/ecrm/internal/profile"
)

// MaxExprLength bounds the source of a segment's expression.
const MaxExprLength = 4096

// ErrInvalid is returned (wrapped) by Compile and Validate for a segment
// that cannot be used.
var ErrInvalid = errors.New("invalid segment")

// Segment is a named expression over a profile's variables.
type Segment struct {
	// ID names the segment in APIs, triggers and profiles.
	ID string `json:"id"`
	// Name is for people.
	Name string `json:"name,omitempty"`
	// Expr is the boolean expression.
	Expr string `json:"expr"`
	// Description says what the segment is for and the policy it calls for.
	Description string `json:"description,omitempty"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate reports whether the segment's id is well formed and its
// expression compiles to a boolean over the profile's variables.
func (s Segment) Validate() error {
	_, err := Compile(s)
	return err
}

// Compiled is a segment ready to evaluate. It is safe for concurrent use.
type Compiled struct {
	Segment
	prog *vm.Program
}

// env is a sample of the variables, for type-checking expressions.
var env = new(profile.Profile).Vars(time.Unix(0, 0), profile.RFMBreakpoints{})

// Compile checks and compiles a segment.
func Compile(s Segment) (*Compiled, error) {
	if !idPattern.MatchString(s.ID) {
		return nil, fmt.Errorf("%w: id %q must be 1 to 64 lower-case letters, digits, - or _", ErrInvalid, s.ID)
	}
	if s.Expr == "" || len(s.Expr) > MaxExprLength {
		return nil, fmt.Errorf("%w: expr must be 1 to %d characters", ErrInvalid, MaxExprLength)
	}
	prog, err := expr.Compile(s.Expr, expr.Env(env), expr.AsBool(), expr.MaxNodes(2000))
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, err.Error())
	}
	return &Compiled{Segment: s, prog: prog}, nil
}

// Match reports whether a profile's variables satisfy the segment. An
// evaluation error (a map key of the wrong type, say) counts as no match.
func (c *Compiled) Match(vars map[string]any) bool {
	out, err := expr.Run(c.prog, vars)
	if err != nil {
		return false
	}
	b, _ := out.(bool)
	return b
}

// Registry holds the compiled segments. The zero value is empty and ready.
// It is safe for concurrent use.
type Registry struct {
	mu   sync.RWMutex
	segs map[string]*Compiled
}

// Put compiles and adds or replaces a segment.
func (r *Registry) Put(s Segment) error {
	c, err := Compile(s)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.segs == nil {
		r.segs = map[string]*Compiled{}
	}
	r.segs[s.ID] = c
	return nil
}

// Delete removes a segment and reports whether it was there.
func (r *Registry) Delete(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.segs[id]
	delete(r.segs, id)
	return ok
}

// Get returns the segment with the given id.
func (r *Registry) Get(id string) (Segment, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.segs[id]
	if !ok {
		return Segment{}, false
	}
	return c.Segment, true
}

// List returns the segments ordered by id.
func (r *Registry) List() []Segment {
	r.mu.RLock()
	out := make([]Segment, 0, len(r.segs))
	for _, c := range r.segs {
		out = append(out, c.Segment)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Len returns the number of segments.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.segs)
}

// Match returns the ids, sorted, of the segments whose expression the
// variables satisfy.
func (r *Registry) Match(vars map[string]any) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for id, c := range r.segs {
		if c.Match(vars) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Diff returns the ids in now but not in before (entered) and in before
// but not in now (left); both inputs sorted.
func Diff(before, now []string) (entered, left []string) {
	for _, id := range now {
		if _, ok := slices.BinarySearch(before, id); !ok {
			entered = append(entered, id)
		}
	}
	for _, id := range before {
		if _, ok := slices.BinarySearch(now, id); !ok {
			left = append(left, id)
		}
	}
	return entered, left
}
