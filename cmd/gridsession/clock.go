package main

import (
	"fmt"
	"time"
)

// clockFlag is the --clock flag: the system clock, or a frozen time.
type clockFlag struct {
	frozen time.Time
}

func (c *clockFlag) String() string {
	if c.frozen.IsZero() {
		return "wall"
	}
	return c.frozen.Format(time.RFC3339)
}

func (c *clockFlag) Set(v string) error {
	if v == "wall" {
		c.frozen = time.Time{}
		return nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return fmt.Errorf("want wall or an RFC 3339 time such as 2026-12-01T00:00:00Z")
	}
	c.frozen = t
	return nil
}

// now returns the clock for the processor, nil meaning the system clock.
func (c *clockFlag) now() func() time.Time {
	if c.frozen.IsZero() {
		return nil
	}
	frozen := c.frozen
	return func() time.Time { return frozen }
}
