// Package drivertest helps the tests of protocol drivers.
package drivertest

import (
	"slices"
	"testing"

	"github.com/pretreat/pretreat/drivers"
)

// CheckValidate validates cfg (drivers.DeviceConfig.Validate, which asks
// the driver registered for its protocol) and fails t unless the errors
// stand at exactly the paths want, in that order, each with a message.
// Empty want means a valid configuration.
func CheckValidate(t testing.TB, cfg drivers.DeviceConfig, want []string) {
	t.Helper()
	var got []string
	for _, e := range cfg.Validate() {
		got = append(got, e.Path)
		if e.Message == "" {
			t.Errorf("%s: empty message", e.Path)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("error paths %q, want %q", got, want)
	}
}
