// Package simulate makes synthetic but realistic shop traffic and sends it
// to a collector, for demos, load tests and end-to-end checks.
//
// The [Generator] is pure: from a [Config] and its seed it produces the same
// sequence of [Batch] values every time, each the events one browser would
// send in one request to `POST /v1/batch`. It models a population of
// visitors who come back over days, on one to three devices, from channels
// (direct, search, social, email, paid, referral, affiliate); who browse the
// categories they prefer, search, view, add to and abandon carts, log in and
// out, click newsletters and order, with long-tailed order values and a
// purchase rhythm for returning customers; and a small share of bots.
// Memory is bounded by the number of visitors.
//
// The [Sender] posts those batches to a collector at a fixed rate of events
// per second (open loop, token bucket), with keep-alive connections and a
// bound on requests in flight, and counts what the collector answered.
package simulate
