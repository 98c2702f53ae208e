package recommend

import (
	"errors"
	"fmt"
	"time"
)

// Kind is what a visitor did with an item.
type Kind uint8

// Kinds of interaction, weakest first.
const (
	View  Kind = iota + 1 // the visitor looked at the item
	Cart                  // the visitor put the item in the cart
	Order                 // the visitor bought the item
)

// String returns the kind's name: view, cart or order.
func (k Kind) String() string {
	switch k {
	case View:
		return "view"
	case Cart:
		return "cart"
	case Order:
		return "order"
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// ParseKind returns the Kind named s: view, cart or order.
func ParseKind(s string) (Kind, error) {
	switch s {
	case "view":
		return View, nil
	case "cart":
		return Cart, nil
	case "order":
		return Order, nil
	}
	return 0, fmt.Errorf("unknown kind %q (want view, cart or order)", s)
}

// weight is how much an interaction of kind k counts in co-occurrence and
// popularity: a view 1, a cart 3, an order 5.
func (k Kind) weight() float64 {
	switch k {
	case Cart:
		return 3
	case Order:
		return 5
	}
	return 1
}

// MaxIDLength is the longest visitor, session, item or category id accepted.
const MaxIDLength = 256

// ErrInvalidInteraction is returned (wrapped) by Validate and Observe when an
// interaction breaks a rule.
var ErrInvalidInteraction = errors.New("recommend: invalid interaction")

// Interaction is one event the model learns from: a visitor viewed, carted
// or bought an item.
type Interaction struct {
	// Visitor identifies who acted (an anonymous or a user id). The model
	// keeps one current session per visitor; it may be empty when Session
	// is set.
	Visitor string
	// Session is the caller's session id, if it has one: a change of
	// Session starts a new session for the visitor. When Visitor is empty,
	// Session alone identifies the session.
	Session string
	// Item is the item's id.
	Item string
	// Kind is what the visitor did.
	Kind Kind
	// Time is when it happened.
	Time time.Time
	// Category is the item's category, if known; the latest one seen wins.
	Category string
}

// Validate reports whether the model can learn from in.
func (in Interaction) Validate() error {
	switch {
	case in.Visitor == "" && in.Session == "":
		return fmt.Errorf("%w: no visitor nor session", ErrInvalidInteraction)
	case in.Item == "":
		return fmt.Errorf("%w: no item", ErrInvalidInteraction)
	case in.Kind < View || in.Kind > Order:
		return fmt.Errorf("%w: kind %d", ErrInvalidInteraction, in.Kind)
	case in.Time.IsZero():
		return fmt.Errorf("%w: no time", ErrInvalidInteraction)
	case len(in.Visitor) > MaxIDLength || len(in.Session) > MaxIDLength ||
		len(in.Item) > MaxIDLength || len(in.Category) > MaxIDLength:
		return fmt.Errorf("%w: id longer than %d bytes", ErrInvalidInteraction, MaxIDLength)
	}
	return nil
}

// key is the live-session key of the interaction's visitor.
func (in Interaction) key() string {
	if in.Visitor != "" {
		return in.Visitor
	}
	return "\x00" + in.Session // never equal to a visitor id
}
