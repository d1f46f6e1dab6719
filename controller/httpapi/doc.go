// Package httpapi serves the controller's API (package api: status, why,
// recipes, commands, Prometheus metrics) over HTTP with JSON. It owns
// authentication (bearer tokens checked against the plant file's users) and
// authorisation (the least role each command needs); it refuses what it
// may not pass on, writes the refusal to the audit trail, and hands every
// other command to the controller's scan, which decides.
//
// It must not reach into the scan's state: it sees the controller only
// through the Controller interface, and answers reads from the last
// published status.
package httpapi
