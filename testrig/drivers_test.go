package testrig

// The rig validates the devices it serves (drivers.DeviceConfig.Validate),
// which asks the registered protocol drivers; a program registers them by
// importing drivers/all, and so do these tests.
import _ "github.com/pretreat/pretreat/drivers/all"
