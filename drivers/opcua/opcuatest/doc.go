// Package opcuatest provides a real OPC UA server for tests: the gopcua
// server, security policy None with anonymous sessions, serving scalar
// variables with string node ids in namespace 2 ("ns=2;s=Pulper.DS") from a
// map that tests set and inspect. A change made with Set is pushed to
// monitored items. Clients reach it through a small TCP proxy on a loopback
// port chosen by the OS, so that a test can cut connections (Stop) or hold
// them silent (Freeze), and a subscription can be made to stop delivering
// while the session lives on (StallSubscriptions). It is a test double and
// must not be imported by production code.
package opcuatest
