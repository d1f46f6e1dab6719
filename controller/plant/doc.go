// Package plant loads and checks the plant file: the line's devices and their
// point maps, the equipment units bound to those points, the scan period, the
// API and the historian settings. It only reads and validates; it never
// connects to anything. Every error names file:line:column, the key and what
// is allowed.
package plant
