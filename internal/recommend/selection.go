package recommend

import "slices"

// selectTop rearranges a so that a[:k] holds its k first elements in the
// order of cmp (negative when x comes before y), sorted, in
// O(len(a) + k·log k) expected time. cmp must be a strict total order for
// the result to be deterministic.
func selectTop[T any](a []T, k int, cmp func(x, y T) int) {
	if k <= 0 {
		return
	}
	if k < len(a) {
		quickselect(a, k, cmp)
		a = a[:k]
	}
	slices.SortFunc(a, cmp)
}

// quickselect moves the k first elements of a to a[:k], in no order.
func quickselect[T any](a []T, k int, cmp func(x, y T) int) {
	lo, hi := 0, len(a)-1
	for lo < hi {
		// Median of three as the pivot, moved to hi.
		mid := lo + (hi-lo)/2
		if cmp(a[mid], a[lo]) < 0 {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if cmp(a[hi], a[lo]) < 0 {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if cmp(a[mid], a[hi]) < 0 {
			a[mid], a[hi] = a[hi], a[mid]
		}
		pivot := a[hi]
		p := lo
		for i := lo; i < hi; i++ {
			if cmp(a[i], pivot) < 0 {
				a[i], a[p] = a[p], a[i]
				p++
			}
		}
		a[p], a[hi] = a[hi], a[p]
		switch {
		case p == k-1 || p == k:
			return
		case p < k:
			lo = p + 1
		default:
			hi = p - 1
		}
	}
}
