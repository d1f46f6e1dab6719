package opcua

import (
	"errors"
	"fmt"
	"math"

	"github.com/gopcua/opcua/ua"

	"github.com/pretreat/pretreat/drivers"
)

// errNotFinite rejects NaN and ±Inf as a value to write.
var errNotFinite = errors.New("value is not a finite number")

// toFloat converts a scalar numeric or boolean variant to float64 (booleans
// are 0 or 1). Arrays, strings and structures are not numbers.
func toFloat(v *ua.Variant) (float64, bool) {
	if v == nil {
		return 0, false
	}
	switch x := v.Value().(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case int8:
		return float64(x), true
	case uint8:
		return float64(x), true
	case int16:
		return float64(x), true
	case uint16:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// toVariant builds a variant of type t from a raw value. Integer types are
// rounded to the nearest integer (halves away from zero) and clamped to the
// type's range, Float to ±MaxFloat32, as the Modbus driver does.
func toVariant(t ua.TypeID, raw float64) (*ua.Variant, error) {
	if math.IsNaN(raw) || math.IsInf(raw, 0) {
		return nil, errNotFinite
	}
	var v any
	switch t {
	case ua.TypeIDBoolean:
		v = raw != 0
	case ua.TypeIDSByte:
		v = int8(roundClamp(raw, math.MinInt8, math.MaxInt8))
	case ua.TypeIDByte:
		v = uint8(roundClamp(raw, 0, math.MaxUint8))
	case ua.TypeIDInt16:
		v = int16(roundClamp(raw, math.MinInt16, math.MaxInt16))
	case ua.TypeIDUint16:
		v = uint16(roundClamp(raw, 0, math.MaxUint16))
	case ua.TypeIDInt32:
		v = int32(roundClamp(raw, math.MinInt32, math.MaxInt32))
	case ua.TypeIDUint32:
		v = uint32(roundClamp(raw, 0, math.MaxUint32))
	case ua.TypeIDInt64:
		// float64 cannot hold MaxInt64 exactly; compare against 2^63.
		switch r := math.Round(raw); {
		case r >= 0x1p63:
			v = int64(math.MaxInt64)
		case r < -0x1p63:
			v = int64(math.MinInt64)
		default:
			v = int64(r)
		}
	case ua.TypeIDUint64:
		switch r := math.Round(raw); {
		case r >= 0x1p64:
			v = uint64(math.MaxUint64)
		case r <= 0:
			v = uint64(0)
		default:
			v = uint64(r)
		}
	case ua.TypeIDFloat:
		v = float32(math.Max(-math.MaxFloat32, math.Min(math.MaxFloat32, raw)))
	case ua.TypeIDDouble:
		v = raw
	default:
		return nil, fmt.Errorf("node data type %v does not take a number", t)
	}
	return ua.NewVariant(v)
}

// roundClamp rounds v to the nearest integer and limits it to [lo, hi].
func roundClamp(v, lo, hi float64) float64 {
	return math.Max(lo, math.Min(hi, math.Round(v)))
}

// typeFromConfig is the variant type written when the server never told the
// node's type: the point's configured type, Double when there is none.
func typeFromConfig(t drivers.DataType) ua.TypeID {
	switch t {
	case drivers.TypeBool:
		return ua.TypeIDBoolean
	case drivers.TypeInt16:
		return ua.TypeIDInt16
	case drivers.TypeUint16:
		return ua.TypeIDUint16
	case drivers.TypeInt32:
		return ua.TypeIDInt32
	case drivers.TypeUint32:
		return ua.TypeIDUint32
	case drivers.TypeInt64:
		return ua.TypeIDInt64
	case drivers.TypeUint64:
		return ua.TypeIDUint64
	case drivers.TypeFloat32:
		return ua.TypeIDFloat
	}
	return ua.TypeIDDouble
}

// isGood reports whether a status code has severity Good (the top two bits
// clear), whatever its info bits.
func isGood(sc ua.StatusCode) bool { return sc&0xC0000000 == 0 }

// statusQuality maps a bad or uncertain status of a value to a quality: a
// node that does not exist or cannot be read is a wrong point map.
func statusQuality(sc ua.StatusCode) drivers.Quality {
	switch sc {
	case ua.StatusBadNodeIDUnknown, ua.StatusBadNodeIDInvalid, ua.StatusBadAttributeIDInvalid, ua.StatusBadNotReadable:
		return drivers.QualityBadConfigError
	}
	return drivers.QualityBadDeviceException
}

// connectionStatuses are service results that mean the channel or session is
// gone, not that the server refused one operation.
var connectionStatuses = map[ua.StatusCode]bool{
	ua.StatusBadTimeout:                true,
	ua.StatusBadRequestTimeout:         true,
	ua.StatusBadServerNotConnected:     true,
	ua.StatusBadNotConnected:           true,
	ua.StatusBadSecureChannelIDInvalid: true,
	ua.StatusBadSecureChannelClosed:    true,
	ua.StatusBadSessionIDInvalid:       true,
	ua.StatusBadSessionClosed:          true,
	ua.StatusBadSessionNotActivated:    true,
	ua.StatusBadConnectionClosed:       true,
	ua.StatusBadConnectionRejected:     true,
	ua.StatusBadCommunicationError:     true,
	ua.StatusBadDisconnect:             true,
	ua.StatusBadServerHalted:           true,
	ua.StatusBadShutdown:               true,
	ua.StatusBadTCPInternalError:       true,
}

// isCommError reports whether err means the connection can no longer be
// trusted. A status code other than the connection ones is the server's
// answer to one request; anything else (EOF, socket errors) is the wire.
func isCommError(err error) bool {
	if err == nil {
		return false
	}
	for _, e := range []error{errNotFinite, drivers.ErrWriteMismatch, drivers.ErrBadConfig, drivers.ErrDeviceException, drivers.ErrDeviceBusy} {
		if errors.Is(err, e) {
			return false
		}
	}
	if errors.Is(err, drivers.ErrCommFailure) {
		return true
	}
	var sc ua.StatusCode
	if errors.As(err, &sc) {
		return connectionStatuses[sc]
	}
	return true
}

// mappingStatuses mean the node or attribute the point names is wrong.
var mappingStatuses = map[ua.StatusCode]bool{
	ua.StatusBadNodeIDUnknown:      true,
	ua.StatusBadNodeIDInvalid:      true,
	ua.StatusBadAttributeIDInvalid: true,
	ua.StatusBadNotReadable:        true,
	ua.StatusBadNotWritable:        true,
	ua.StatusBadTypeMismatch:       true,
}

// busyStatuses mean the server asks to be asked again later.
var busyStatuses = map[ua.StatusCode]bool{
	ua.StatusBadTooManyOperations:      true,
	ua.StatusBadResourceUnavailable:    true,
	ua.StatusBadTooManySessions:        true,
	ua.StatusBadTooManySubscriptions:   true,
	ua.StatusBadTooManyPublishRequests: true,
}

// classifyStatus wraps an error carrying an OPC UA status code with the
// drivers error class that says whether a retry may help; other errors are
// communication failures.
func classifyStatus(err error) error {
	var sc ua.StatusCode
	if !errors.As(err, &sc) {
		return fmt.Errorf("%w: %w", drivers.ErrCommFailure, err)
	}
	switch {
	case connectionStatuses[sc]:
		return fmt.Errorf("%w: %w", drivers.ErrCommFailure, err)
	case mappingStatuses[sc]:
		return fmt.Errorf("%w: %w", drivers.ErrBadConfig, err)
	case busyStatuses[sc]:
		return fmt.Errorf("%w: %w", drivers.ErrDeviceBusy, err)
	}
	return fmt.Errorf("%w: %w", drivers.ErrDeviceException, err)
}

// fallsBackToPolling reports whether a monitored item refused with sc is
// better read every poll: the node exists, but the server cannot monitor it
// as asked (no filter support, deadband on a node without a range, no more
// items).
func fallsBackToPolling(sc ua.StatusCode) bool {
	switch sc {
	case ua.StatusBadMonitoredItemFilterUnsupported, ua.StatusBadFilterNotAllowed, ua.StatusBadDeadbandFilterInvalid,
		ua.StatusBadMonitoringModeInvalid, ua.StatusBadTooManyMonitoredItems, ua.StatusBadServiceUnsupported,
		ua.StatusBadNotSupported, ua.StatusBadMonitoredItemFilterInvalid:
		return true
	}
	return false
}

// refusedStatuses are what a server answers when it will not take the
// client's security settings or credentials: configuration, not the wire.
var refusedStatuses = map[ua.StatusCode]bool{
	ua.StatusBadUserAccessDenied:            true,
	ua.StatusBadIdentityTokenInvalid:        true,
	ua.StatusBadIdentityTokenRejected:       true,
	ua.StatusBadUserSignatureInvalid:        true,
	ua.StatusBadSecurityPolicyRejected:      true,
	ua.StatusBadSecurityModeRejected:        true,
	ua.StatusBadSecurityChecksFailed:        true,
	ua.StatusBadCertificateUntrusted:        true,
	ua.StatusBadCertificateInvalid:          true,
	ua.StatusBadCertificateURIInvalid:       true,
	ua.StatusBadCertificateUseNotAllowed:    true,
	ua.StatusBadApplicationSignatureInvalid: true,
}

// classifyConnect wraps a connection error: refused security or
// credentials are drivers.ErrBadConfig (the points turn bad:config_error),
// anything else drivers.ErrCommFailure.
func classifyConnect(err error) error {
	var sc ua.StatusCode
	if errors.As(err, &sc) && refusedStatuses[sc] {
		return fmt.Errorf("%w: %w", drivers.ErrBadConfig, err)
	}
	return fmt.Errorf("%w: %w", drivers.ErrCommFailure, err)
}
