package rees46

import (
	"fmt"
	"time"

	"github.com/gridsession/gridsession/schemas"
)

// Defaults of Options.
const (
	DefaultTenant  = "rees46"
	DefaultRegion  = "EU"
	DefaultCountry = "DE"
)

// Generic values of the fields that the REES46 files do not carry.
const (
	clientUserAgent     = "rees46-loader"
	environment         = "production"
	appID               = "rees46"
	appVersion          = "1"
	installationVersion = "1"
)

// Options configures Scan. The zero value loads into tenant DefaultTenant,
// region DefaultRegion and country DefaultCountry, with the times of the
// files unchanged.
type Options struct {
	// Tenant is the tenantId of every record. Default DefaultTenant.
	Tenant string
	// Region is the dataResidency of every record. Default DefaultRegion.
	Region string
	// Country is the country of every client and session. Default
	// DefaultCountry.
	Country string
	// RebaseTo, when not zero, shifts every time by one offset so that the
	// latest accepted row of all files falls on RebaseTo. The gaps between
	// rows are kept.
	RebaseTo time.Time
}

// withDefaults returns a copy of o with empty fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.Tenant == "" {
		o.Tenant = DefaultTenant
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.Country == "" {
		o.Country = DefaultCountry
	}
	return o
}

// Validate checks that the tenant, region and country are valid in a client
// record. Empty fields are valid because they take their defaults. Whether
// the deployment serves the region is checked by the processor, not here.
func (o Options) Validate() error {
	o = o.withDefaults()
	probe := &schemas.Client{
		TenantID:        o.Tenant,
		ClientID:        "0",
		ClientCreated:   "2019-10-01T00:00:00Z",
		ClientUserAgent: clientUserAgent,
		DataResidency:   o.Region,
		Country:         o.Country,
	}
	if err := schemas.NewValidator(o.Region).ValidateClient(probe); err != nil {
		return fmt.Errorf("rees46: invalid options: %w", err)
	}
	return nil
}
