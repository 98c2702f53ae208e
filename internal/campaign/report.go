package campaign

import "math"

// Arm is what one group of a campaign did: the visitors exposed (or, in the
// holdout, who would have been), those who ordered within the attribution
// window, and their orders and revenue.
type Arm struct {
	Visitors  int64   `json:"visitors"`
	Converted int64   `json:"converted"`
	Orders    int64   `json:"orders"`
	Revenue   float64 `json:"revenue"`
}

// Add adds other into a.
func (a *Arm) Add(other Arm) {
	a.Visitors += other.Visitors
	a.Converted += other.Converted
	a.Orders += other.Orders
	a.Revenue += other.Revenue
}

// Result is a campaign's outcome so far, as the profiler aggregates it on
// the stats topic ("campaign/<id>").
type Result struct {
	Treatment Arm `json:"treatment"`
	Holdout   Arm `json:"holdout"`
}

// Arm returns the arm of a group.
func (r *Result) Arm(group string) *Arm {
	if group == Holdout {
		return &r.Holdout
	}
	return &r.Treatment
}

// Add adds other into r.
func (r *Result) Add(other Result) {
	r.Treatment.Add(other.Treatment)
	r.Holdout.Add(other.Holdout)
}

// ArmReport is one group's figures.
type ArmReport struct {
	Arm
	ConversionRate    float64 `json:"conversionRate"`
	RevenuePerVisitor float64 `json:"revenuePerVisitor"`
}

// Report compares a campaign's treatment with its holdout.
type Report struct {
	Treatment ArmReport `json:"treatment"`
	Holdout   ArmReport `json:"holdout"`
	// Uplift is the difference of conversion rates (treatment − holdout),
	// with its 95% confidence interval (normal approximation of the
	// difference of two proportions) and relative to the holdout's rate.
	Uplift         float64 `json:"uplift"`
	UpliftLow      float64 `json:"upliftLow"`
	UpliftHigh     float64 `json:"upliftHigh"`
	RelativeUplift float64 `json:"relativeUplift"`
	// Significant is true when the interval excludes zero.
	Significant bool `json:"significant"`
	// RevenuePerVisitorUplift is the difference of revenue per visitor;
	// IncrementalRevenue is that times the treatment's visitors: what the
	// campaign earned beyond what those visitors would have spent anyway.
	RevenuePerVisitorUplift float64 `json:"revenuePerVisitorUplift"`
	IncrementalRevenue      float64 `json:"incrementalRevenue"`
}

// Analyze turns a result into a report.
func Analyze(r Result) Report {
	t, h := armReport(r.Treatment), armReport(r.Holdout)
	rep := Report{Treatment: t, Holdout: h}
	if t.Visitors == 0 || h.Visitors == 0 {
		return rep
	}
	rep.Uplift = t.ConversionRate - h.ConversionRate
	se := math.Sqrt(t.ConversionRate*(1-t.ConversionRate)/float64(t.Visitors) + h.ConversionRate*(1-h.ConversionRate)/float64(h.Visitors))
	rep.UpliftLow, rep.UpliftHigh = rep.Uplift-1.96*se, rep.Uplift+1.96*se
	rep.Significant = rep.UpliftLow > 0 || rep.UpliftHigh < 0
	if h.ConversionRate > 0 {
		rep.RelativeUplift = rep.Uplift / h.ConversionRate
	}
	rep.RevenuePerVisitorUplift = t.RevenuePerVisitor - h.RevenuePerVisitor
	rep.IncrementalRevenue = rep.RevenuePerVisitorUplift * float64(t.Visitors)
	return rep
}

func armReport(a Arm) ArmReport {
	ar := ArmReport{Arm: a}
	if a.Visitors > 0 {
		ar.ConversionRate = float64(a.Converted) / float64(a.Visitors)
		ar.RevenuePerVisitor = a.Revenue / float64(a.Visitors)
	}
	return ar
}
