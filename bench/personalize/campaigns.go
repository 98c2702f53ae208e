package main

import (
	"fmt"
	"time"

	"github.com/ecrm/ecrm/internal/campaign"
)

// placement is the placement the decide requests ask for.
const placement = "home_banner"

// campaigns returns a shop's campaigns: five on the home banner with
// segments over profile variables, frequency caps and holdouts, one there
// that has ended, and three on other placements, which Decide also looks
// at and skips.
func campaigns(now time.Time) (*campaign.Registry, error) {
	banner := func(title, url string) map[string]any {
		return map[string]any{"title": title, "text": "Free returns within 60 days.", "url": url,
			"cta": "Shop now", "image": "https://cdn.shop.example/banners/" + url[1:] + ".jpg"}
	}
	list := []campaign.Campaign{
		{ID: "cart-rescue", Name: "Complete your order", Placement: placement, Priority: 50,
			Segment: `cart_items > 0 && minutes_since_cart_update < 4320`, FrequencyCap: 3, Holdout: 0.1,
			Content: banner("Still thinking it over?", "/cart")},
		{ID: "winback-loyal", Name: "We miss you", Placement: placement, Priority: 40,
			Segment: `orders >= 3 && days_since_last_order > 45`, Holdout: 0.2,
			Content: banner("15% off your next order", "/account")},
		{ID: "running-fans", Name: "New running shoes", Placement: placement, Priority: 30,
			Segment: `interest["running-shoes"] > 1.5 || interest["trail-shoes"] > 1.5`, FrequencyCap: 5, Holdout: 0.1,
			Content: banner("The new season of running shoes", "/shoes/running")},
		{ID: "first-order", Name: "First order", Placement: placement, Priority: 20,
			Segment: `orders == 0 && sessions >= 2`, FrequencyCap: 10, Holdout: 0.1,
			Content: banner("10% off your first order", "/welcome")},
		{ID: "welcome", Name: "Welcome", Placement: placement, Priority: 10,
			Segment: `!identified`, Holdout: 0.05,
			Content: banner("Join and get free shipping", "/join")},
		{ID: "summer-sale", Name: "Summer sale", Placement: placement, Priority: 100,
			Start: now.Add(-90 * day), End: now.Add(-30 * day),
			Content: banner("Summer sale", "/sale")},
		{ID: "pdp-bundle", Placement: "product_page", Priority: 10, Segment: `cart_value > 50`,
			Content: banner("Bundle and save", "/bundles")},
		{ID: "pdp-reviews", Placement: "product_page", Priority: 5,
			Content: banner("Read the reviews", "/reviews")},
		{ID: "checkout-upsell", Placement: "checkout", Priority: 5, Segment: `value_tier == "top"`,
			Content: banner("Add socks for 5 EUR", "/socks")},
	}
	reg := new(campaign.Registry)
	for _, c := range list {
		if err := reg.Put(c); err != nil {
			return nil, fmt.Errorf("campaign %s: %w", c.ID, err)
		}
	}
	return reg, nil
}
