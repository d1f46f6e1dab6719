package modbus

import (
	"errors"
	"fmt"

	mb "github.com/simonvetter/modbus"

	"github.com/pretreat/pretreat/drivers"
)

// ExceptionError is a Modbus exception reply: the device (or gateway)
// answered, refusing the request. It wraps simonvetter/modbus's error for
// the code and the drivers error class that says whether to retry
// (drivers.ErrBadConfig, drivers.ErrDeviceBusy, drivers.ErrDeviceException
// or drivers.ErrCommFailure), so callers use errors.Is with either.
type ExceptionError struct {
	// Code is the exception code, 1 to 11.
	Code byte
	lib  error
}

// exceptionCodes maps simonvetter's exception errors to their codes.
var exceptionCodes = map[error]byte{
	mb.ErrIllegalFunction:         0x01,
	mb.ErrIllegalDataAddress:      0x02,
	mb.ErrIllegalDataValue:        0x03,
	mb.ErrServerDeviceFailure:     0x04,
	mb.ErrAcknowledge:             0x05,
	mb.ErrServerDeviceBusy:        0x06,
	mb.ErrMemoryParityError:       0x08,
	mb.ErrGWPathUnavailable:       0x0A,
	mb.ErrGWTargetFailedToRespond: 0x0B,
}

func (e *ExceptionError) Error() string {
	return fmt.Sprintf("modbus exception %d (%v)", e.Code, e.lib)
}

// Unwrap returns the library's error and the drivers error class.
func (e *ExceptionError) Unwrap() []error { return []error{e.lib, e.Class()} }

// Class is the drivers error the exception belongs to:
//
//	01 illegal function, 02 illegal data address   → ErrBadConfig
//	05 acknowledge, 06 server device busy          → ErrDeviceBusy (retry)
//	0A gateway path unavailable, 0B target failed  → ErrCommFailure
//	03, 04, 08 and anything else                   → ErrDeviceException
func (e *ExceptionError) Class() error {
	switch e.Code {
	case 0x01, 0x02:
		return drivers.ErrBadConfig
	case 0x05, 0x06:
		return drivers.ErrDeviceBusy
	case 0x0A, 0x0B:
		return drivers.ErrCommFailure
	}
	return drivers.ErrDeviceException
}

// Quality is the quality of the points a read with this exception covers.
// A device still busy after the retries keeps its last value as uncertain.
func (e *ExceptionError) Quality() drivers.Quality {
	switch e.Class() {
	case drivers.ErrBadConfig:
		return drivers.QualityBadConfigError
	case drivers.ErrDeviceBusy:
		return drivers.QualityUncertainLastUsable
	case drivers.ErrCommFailure:
		return drivers.QualityBadCommFailure
	}
	return drivers.QualityBadDeviceException
}

// failure says what a failed request means for the connection.
type failure int

const (
	// failException: the device answered with an exception; the
	// connection and the unit are fine.
	failException failure = iota
	// failUnit: this unit did not answer properly (timeout, garbled or
	// foreign frame, gateway reports it silent). Other units behind the
	// same connection may be fine.
	failUnit
	// failLink: the connection itself is gone (closed, reset).
	failLink
)

// classify wraps a simonvetter error into the drivers vocabulary and says
// what it means for the connection.
func classify(err error) (error, failure) {
	for lib, code := range exceptionCodes {
		if errors.Is(err, lib) {
			ex := &ExceptionError{Code: code, lib: lib}
			if ex.Class() == drivers.ErrCommFailure {
				return ex, failUnit
			}
			return ex, failException
		}
	}
	switch {
	case errors.Is(err, mb.ErrUnexpectedParameters):
		// The library refused to send the request: a mapping it cannot
		// express, as wrong as an illegal address.
		return fmt.Errorf("%w: %w", drivers.ErrBadConfig, err), failException
	case errors.Is(err, mb.ErrRequestTimedOut), errors.Is(err, mb.ErrBadCRC), errors.Is(err, mb.ErrShortFrame),
		errors.Is(err, mb.ErrProtocolError), errors.Is(err, mb.ErrBadUnitId), errors.Is(err, mb.ErrBadTransactionId),
		errors.Is(err, mb.ErrUnknownProtocolId):
		return fmt.Errorf("%w: %w", drivers.ErrCommFailure, err), failUnit
	}
	return fmt.Errorf("%w: %w", drivers.ErrCommFailure, err), failLink
}

// qualityOf is the quality of the points whose read failed with err, a
// classified error.
func qualityOf(err error) drivers.Quality {
	var ex *ExceptionError
	switch {
	case errors.As(err, &ex):
		return ex.Quality()
	case errors.Is(err, drivers.ErrBadConfig):
		return drivers.QualityBadConfigError
	case errors.Is(err, drivers.ErrCommFailure):
		return drivers.QualityBadCommFailure
	}
	return drivers.QualityBadDeviceException
}
