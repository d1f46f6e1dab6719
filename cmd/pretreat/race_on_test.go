//go:build race

package main

// raceEnabled is true when the tests run under the race detector, which
// makes every goroutine of the test process several times slower: timing
// measured in-process is then not the product's.
const raceEnabled = true
