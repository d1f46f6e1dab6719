// Package modbustest provides a real Modbus TCP server for tests: the
// simonvetter/modbus server on a loopback port chosen by the OS, backed by
// register maps that tests set and inspect. It is a test double and must not
// be imported by production code.
package modbustest
