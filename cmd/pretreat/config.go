package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/internal/yamlsrc"
)

func cmdConfig(args []string) error {
	if len(args) == 0 {
		return usageError("config needs a subcommand: check FILE | sample")
	}
	switch args[0] {
	case "sample":
		_, err := os.Stdout.Write(plant.Sample())
		return err
	case "check":
		if len(args) != 2 {
			return usageError("usage: pretreat config check FILE")
		}
		return configCheck(args[1], os.Stdout, os.Stderr)
	}
	return usageError("unknown config subcommand " + args[0])
}

// configCheck validates a plant file without connecting to anything. Every
// problem goes to stderr as file:line:column: key: message; the summary of
// a good file to stdout.
func configCheck(path string, stdout, stderr io.Writer) error {
	f, err := plant.Load(path)
	if err != nil {
		var es yamlsrc.Errors
		if errors.As(err, &es) {
			fmt.Fprintln(stderr, es.Error())
			return fmt.Errorf("%s: %d problem(s)", path, len(es))
		}
		return err
	}
	points := 0
	for _, d := range f.Devices {
		points += len(d.Points)
	}
	fmt.Fprintf(stdout, "%s: ok: line %s, %d devices, %d points, %d units\n", path, f.Line, len(f.Devices), points, len(f.Units))
	return nil
}
