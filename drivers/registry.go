package drivers

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// AddFunc records one configuration problem at a YAML path relative to the
// device's entry in the plant file (e.g. "points[2].type").
type AddFunc func(path, format string, args ...any)

// BuildOptions are the collaborators every driver takes when it builds a
// device. A driver ignores what it has no use for.
type BuildOptions struct {
	// Clock timestamps samples and write results in plant time. Nil means
	// WallClock.
	Clock Clock
	// Results receives the outcome of each queued write. Nil means outcomes
	// are only logged.
	Results chan<- WriteResult
	// Logger receives connection changes and write failures. Nil discards.
	Logger *slog.Logger
	// CorrectOutputs asks drivers that can to write an output again when a
	// poll reads back another value than the controller last wrote (the
	// Modbus driver does; see modbus.Options.CorrectOutputs).
	CorrectOutputs bool
}

// ProtocolDriver is what a protocol package registers: the checks of its
// part of a device configuration and the constructor of its devices. The
// checks touch neither the network nor the file system; New may read files
// the configuration names (certificates, keys) but makes no network calls.
type ProtocolDriver interface {
	// ValidateDevice checks the device-level keys of the protocol (and
	// rejects the keys of other protocols). It runs after the name check
	// and before the checks common to every device.
	ValidateDevice(d *DeviceConfig, add AddFunc)
	// ValidatePoint checks the protocol's mapping of d.Points[i], whose
	// path is pp (e.g. "points[3]"), after the checks common to every
	// point.
	ValidatePoint(d *DeviceConfig, i int, pp string, add AddFunc)
	// New builds a device. Configuration problems come back joined, each a
	// *ConfigError.
	New(cfg DeviceConfig, opts BuildOptions) (Device, error)
}

// DevicesValidator is implemented by a ProtocolDriver whose devices
// constrain each other (e.g. Modbus unit ids sharing one connection).
type DevicesValidator interface {
	// ValidateDevices checks the devices of this protocol among all of a
	// plant's devices; add takes the index of the device in devs.
	ValidateDevices(devs []DeviceConfig, add func(dev int, path, format string, args ...any))
}

var (
	registryMu sync.RWMutex
	registry   = map[Protocol]ProtocolDriver{}
)

// RegisterProtocol makes a protocol known to Validate and New. Protocol
// packages call it from their init function; the package drivers/all
// imports every protocol package. It panics when the name is empty or
// registered twice.
func RegisterProtocol(name Protocol, p ProtocolDriver) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if name == "" || p == nil {
		panic("drivers: RegisterProtocol needs a name and a driver")
	}
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("drivers: protocol %q registered twice", name))
	}
	registry[name] = p
}

// Protocols returns the registered protocol names, sorted.
func Protocols() []Protocol {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]Protocol, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// LookupProtocol returns the driver registered for name.
func LookupProtocol(name Protocol) (ProtocolDriver, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	p, ok := registry[name]
	return p, ok
}

// unknownProtocol is the problem of a device whose protocol is not
// registered; it names the registered ones.
func unknownProtocol(p Protocol) *ConfigError {
	var names []string
	for _, n := range Protocols() {
		names = append(names, string(n))
	}
	allowed := strings.Join(names, ", ")
	if allowed == "" {
		allowed = "none registered (import github.com/pretreat/pretreat/drivers/all)"
	}
	return &ConfigError{Path: "protocol", Message: fmt.Sprintf("protocol %q is not known; allowed: %s", p, allowed)}
}

// New builds the device cfg describes with the driver of its protocol. It
// makes no network calls.
func New(cfg DeviceConfig, opts BuildOptions) (Device, error) {
	p, ok := LookupProtocol(cfg.Protocol)
	if !ok {
		return nil, fmt.Errorf("device %q: %w", cfg.Name, unknownProtocol(cfg.Protocol))
	}
	return p.New(cfg, opts)
}

// ValidateDevices checks what the devices of a plant require of each other,
// protocol by protocol (see DevicesValidator); add takes the index of the
// device in devs. Devices of an unknown protocol are left to Validate.
func ValidateDevices(devs []DeviceConfig, add func(dev int, path, format string, args ...any)) {
	for _, name := range Protocols() {
		p, _ := LookupProtocol(name)
		if v, ok := p.(DevicesValidator); ok {
			v.ValidateDevices(devs, add)
		}
	}
}
