// Package api holds the types of the controller's HTTP+JSON API and a small
// client for them. The HMI, the CLI and scripts use only this package to talk
// to a running controller; they never reach into controller internals.
//
// Endpoints (all under the controller's listen address, loopback by default):
//
//	GET  /api/v1/status    -> Status
//	GET  /api/v1/recipes   -> []RecipeInfo
//	POST /api/v1/commands  Command -> CommandResult (HTTP 409 when refused)
//	GET  /api/v1/units/{name}/why -> WhyNot (unmet permissives, active trips)
package api
